"""Sessions, payments and refunds written straight to the database, for tests of what reads
them (search, lists, exports) without a chain or the API in between."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from app.models import CheckoutSession, Payment, Refund, new_id
from app.states import utcnow


async def make_session(merchant_id: str, livemode: bool = False, **fields: Any) -> CheckoutSession:
    now = fields.pop("created_at", None) or utcnow()
    session_id = new_id("cs_live" if livemode else "cs_test")
    values: dict[str, Any] = {
        "id": session_id,
        "merchant_id": merchant_id,
        "livemode": livemode,
        "status": "open",
        "amount_fiat_cents": 5000,
        "fiat_currency": "EUR",
        "allowed_crypto_currencies": ["USDC"],
        "allowed_networks": ["devnet"],
        "checkout_url": f"http://127.0.0.1:8000/checkout/{session_id}",
        "success_url": "https://shop.example/ok",
        "cancel_url": "https://shop.example/cancel",
        "metadata": {},
        "expires_at": now + dt.timedelta(hours=1),
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    return await CheckoutSession.create(**values)


async def make_payment(session: CheckoutSession, **fields: Any) -> Payment:
    now = fields.pop("created_at", None) or utcnow()
    values: dict[str, Any] = {
        "id": new_id("pay"),
        "session_id": session.id,
        "merchant_id": session.merchant_id,
        "livemode": session.livemode,
        "status": "pending",
        "network": "devnet",
        "crypto_currency": "USDC",
        "token_address": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        "amount_base_units": 50_000_000,
        "decimals": 6,
        "amount_fiat_cents": session.amount_fiat_cents,
        "fiat_currency": session.fiat_currency,
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    return await Payment.create(**values)


async def make_refund(payment: Payment, amount_base_units: int, status: str) -> Refund:
    now = utcnow()
    return await Refund.create(
        id=new_id("re"),
        merchant_id=payment.merchant_id,
        payment_id=payment.id,
        livemode=payment.livemode,
        status=status,
        network=payment.network,
        crypto_currency=payment.crypto_currency,
        token_address=payment.token_address,
        decimals=payment.decimals,
        amount_base_units=amount_base_units,
        claim_token=secrets.token_urlsafe(24),
        from_address="0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        created_at=now,
        updated_at=now,
    )


async def make_many_payments(merchant_id: str, count: int) -> None:
    """`count` sessions with one confirmed payment each, inserted in bulk (for exports large
    enough to take several batches)."""
    start = utcnow() - dt.timedelta(days=1)
    sessions, payments = [], []
    for n in range(count):
        at = start + dt.timedelta(milliseconds=n)
        session_id = new_id("cs_test")
        sessions.append(
            CheckoutSession(
                id=session_id,
                merchant_id=merchant_id,
                livemode=False,
                status="completed",
                amount_fiat_cents=1000 + n,
                fiat_currency="EUR",
                allowed_crypto_currencies=["USDC"],
                allowed_networks=["devnet"],
                checkout_url=f"http://127.0.0.1:8000/checkout/{session_id}",
                success_url="https://shop.example/ok",
                cancel_url="https://shop.example/cancel",
                client_reference_id=f"order-{n}",
                metadata={"n": str(n)},
                expires_at=at + dt.timedelta(hours=1),
                created_at=at,
                updated_at=at,
            )
        )
        payments.append(
            Payment(
                id=new_id("pay"),
                session_id=session_id,
                merchant_id=merchant_id,
                livemode=False,
                status="confirmed",
                network="devnet",
                crypto_currency="USDC",
                amount_base_units=(1000 + n) * 10**4,
                decimals=6,
                amount_fiat_cents=1000 + n,
                fiat_currency="EUR",
                created_at=at,
                updated_at=at,
            )
        )
    await CheckoutSession.bulk_create(sessions, batch_size=500)
    await Payment.bulk_create(payments, batch_size=500)
