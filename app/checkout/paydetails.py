"""What the pay step shows for a payment: amounts, the payment URI as a QR code, and what the
network's own template needs (its `Network` and the wallet request it prepared).

Read from the payment row the payments module wrote, so the page shows exactly the integers
the network was asked to collect.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import segno
from markupsafe import Markup

from app.models import Payment
from app.money import base_units_to_decimal
from app.networks import Network, PluginError, current_registry


@dataclass(frozen=True, slots=True)
class PayDetails:
    payment_id: str
    network_key: str
    network_name: str
    # None when the network was disabled after the payment was made: amounts still show.
    network: Network | None
    symbol: str
    amount_crypto: str
    amount_base_units: int
    payment_uri: str
    # Where a plain transfer from any wallet or exchange pays ("" when the network has none).
    deposit_address: str
    # The network's wallet request (opaque JSON its template reads).
    wallet: dict[str, Any]
    # The network's pay-step template ("" when it has none).
    template: str
    expires_at: int | None

    def qr_svg(self) -> Markup:
        """The payment URI as an inline SVG QR code (no image request, no script)."""
        return qr_svg(self.payment_uri)


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


def pay_details(payment: Payment) -> PayDetails:
    """From the payment row: the prepared wallet request and the amounts it was created with."""
    network = _network(payment.network)
    # What leaves the shopper's wallet: the amount plus Kassa's fee, if the operator set one.
    total = int(payment.amount_base_units) + int(payment.fee_base_units or 0)
    return PayDetails(
        payment_id=payment.id,
        network_key=payment.network,
        network_name=network.name if network is not None else payment.network,
        network=network,
        symbol=payment.crypto_currency,
        amount_crypto=base_units_to_decimal(total, payment.decimals),
        amount_base_units=total,
        payment_uri=payment.payment_uri or "",
        deposit_address=payment.deposit_address or "",
        wallet=dict(payment.wallet_request or {}),
        template=network.pay_template if network is not None else "",
        expires_at=int(payment.deadline) or None,
    )
