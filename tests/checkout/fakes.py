"""A registry with fake networks, so page tests need no chain (browser tests use anvil)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from app.models import CheckoutSession, Payment, new_id
from app.networks import Registry, Token
from app.quotes import FixedRateSource, QuoteBook
from app.states import PaymentStatus
from plugins.evm.network import EvmNetwork, EvmNetworkSettings

PAYOUT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
USDC = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def fake_network() -> EvmNetwork:
    """The devnet's real EVM network object; nothing here ever reaches its (absent) node."""
    from plugins.ethereum import SPECS

    spec = next(spec for spec in SPECS if spec.key == "devnet")
    settings = EvmNetworkSettings(
        rpc_urls=["http://127.0.0.1:9"],  # type: ignore[list-item]
        contract_address=CONTRACT,
        signer_key="0x" + "44" * 32,  # type: ignore[arg-type]
    )
    return EvmNetwork(spec, settings)


def fake_registry(settings: Any) -> Registry:
    network = fake_network()
    registry = Registry(settings=settings, pm=None)  # type: ignore[arg-type]
    registry.networks[network.key] = network  # type: ignore[assignment]
    registry.tokens[("devnet", "ETH")] = network.native_currency
    registry.tokens[("devnet", "USDC")] = Token("devnet", "USDC", 6, USDC, "Test USD Coin")
    registry.quote_book = QuoteBook(
        [FixedRateSource({"ETH/USD": Decimal(2000), "USDC/USD": Decimal(1)})], 60
    )
    return registry


async def fake_create_payment(
    session: CheckoutSession, network_key: str, crypto_currency: str, *, request_id: Any = None
) -> Payment:
    """Stands in for app.payments.create_payment: the row it would write, minus the chain."""
    now = dt.datetime.now(dt.UTC)
    token = crypto_currency.upper() != "ETH"
    amount = 12_340_000 if token else 6_170_000_000_000_000
    payment = await Payment.create(
        id=new_id("pay"),
        session_id=session.id,
        merchant_id=session.merchant_id,  # type: ignore[attr-defined]
        livemode=session.livemode,
        status=PaymentStatus.PENDING,
        network=network_key,
        crypto_currency=crypto_currency.upper(),
        token_address=USDC if token else None,
        amount_base_units=amount,
        decimals=6 if token else 18,
        amount_fiat_cents=session.amount_fiat_cents,
        fiat_currency=session.fiat_currency,
        wallet_request={
            "to": CONTRACT,
            "data": "0xdeadbeef",
            "value": "0" if token else str(amount),
            "approve": {"token": USDC, "spender": CONTRACT, "amount": str(amount)}
            if token
            else None,
        },
        payment_uri=(
            f"ethereum:{CONTRACT}@31337?value={amount}"
            if not token
            else f"ethereum:{USDC}@31337/transfer?address={CONTRACT}&uint256={amount}"
        ),
        min_confirmations=2,
        deadline=int(now.timestamp()) + 600,
        created_at=now,
        updated_at=now,
    )
    await CheckoutSession.filter(id=session.id).update(payment_id=payment.id)
    session.payment_id = payment.id
    return payment
