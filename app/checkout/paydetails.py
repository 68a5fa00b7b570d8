"""What the pay step shows for a payment: amounts, the transaction request, the QR code.

Read from the payment row the payments module wrote, so the page shows exactly the integers
in the signed intent that the contract checks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from markupsafe import Markup

from app.models import Payment
from app.money import base_units_to_decimal
from app.networks import Network, PluginError, current_registry


@dataclass(frozen=True, slots=True)
class ApproveStep:
    """An ERC-20 allowance the contract needs before `pay` can pull the token."""

    token: str
    spender: str
    amount: int


@dataclass(frozen=True, slots=True)
class PayDetails:
    payment_id: str
    network_key: str
    network_name: str
    chain_id: int
    symbol: str
    amount_crypto: str
    amount_base_units: int
    to: str
    data: str
    value: int
    eip681_uri: str
    approve: ApproveStep | None
    expires_at: int | None
    rpc_url: str | None
    explorer_url: str | None
    native_symbol: str
    native_decimals: int

    @property
    def chain_id_hex(self) -> str:
        return hex(self.chain_id)

    def qr_svg(self) -> Markup:
        """The EIP-681 URI as an inline SVG QR code (no image request, no script)."""
        return qr_svg(self.eip681_uri)


def qr_svg(text: str) -> Markup:
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=4,
        border=4,
        svgclass="qr",
        lineclass=None,
        omitsize=True,
        dark="#000",
        light="#fff",
    )
    # segno writes only its own path data and the classes above: nothing to escape.
    return Markup(out.getvalue().decode("ascii"))


def _network(key: str) -> Network | None:
    try:
        return current_registry().network(key)
    except PluginError:
        return None


def _rpc_url(network: Network | None) -> str | None:
    """A public RPC URL for `wallet_addEthereumChain`, when the network plugin offers one."""
    if network is None:
        return None
    for name in ("public_rpc_url", "rpc_url"):
        value = getattr(network, name, None)
        if isinstance(value, str) and value:
            return value
    urls = getattr(network, "rpc_urls", None)
    if isinstance(urls, list | tuple) and urls:
        return str(urls[0])
    return None


def pay_details(payment: Payment) -> PayDetails:
    """From the payment row: the signed transaction request and amounts it was created with."""
    network = _network(payment.network)
    approve = None
    if isinstance(payment.approve, dict) and payment.approve:
        approve = ApproveStep(
            token=str(payment.approve["token"]),
            spender=str(payment.approve["spender"]),
            amount=int(payment.approve["amount"]),
        )
    native = network.native_currency if network is not None else None
    # What leaves the shopper's wallet: the amount plus Kassa's fee, if the operator set one.
    total = int(payment.amount_base_units) + int(payment.fee_base_units or 0)
    return PayDetails(
        payment_id=payment.id,
        network_key=payment.network,
        network_name=network.name if network is not None else payment.network,
        chain_id=network.chain_id if network is not None else 0,
        symbol=payment.crypto_currency,
        amount_crypto=base_units_to_decimal(total, payment.decimals),
        amount_base_units=total,
        to=payment.tx_to,
        data=payment.tx_data or "0x",
        value=int(payment.tx_value or 0),
        eip681_uri=payment.eip681_uri,
        approve=approve,
        expires_at=int(payment.deadline) or None,
        rpc_url=_rpc_url(network),
        explorer_url=(network.explorer_url or None) if network is not None else None,
        native_symbol=native.symbol if native is not None else "ETH",
        native_decimals=native.decimals if native is not None else 18,
    )
