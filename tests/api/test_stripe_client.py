"""The official `stripe` Python library works against Kassa, pointed at it with api_base."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from tests.conftest import LiveServer, MerchantKeys


def _drive_stripe(base_url: str, secret: str) -> None:
    client = stripe.StripeClient(
        api_key=secret,
        base_addresses={"api": base_url},
        max_network_retries=0,
    )
    created = [
        client.v1.checkout.sessions.create(
            params={  # type: ignore[arg-type] - Kassa's own fields ride along as params
                "amount_fiat": f"{10 + i}.00",
                "currency": "eur",
                "allowed_crypto_currencies": ["ETH", "USDC"],
                "allowed_networks": ["devnet"],
                "success_url": "https://shop.example/ok?id={CHECKOUT_SESSION_ID}",
                "cancel_url": "https://shop.example/cancel",
                "metadata": {"order_id": str(i)},
                "expires_in": 1800,
            },
            options={"idempotency_key": f"stripe-lib-{i}"},
        )
        for i in range(5)
    ]
    first = created[0]
    assert first.object == "checkout.session"
    assert first["amount_fiat"] == "10.00"
    assert first.metadata["order_id"] == "0"
    # The documented fields (issue 11), not Stripe's `currency`/`created`.
    assert first["fiat_currency"] == "EUR" and first["mode"] == "payment"
    assert "currency" not in first and "created" not in first
    assert first["created_at"].endswith("Z") and first["expires_at"] > first["created_at"]

    retrieved = client.v1.checkout.sessions.retrieve(first.id)
    assert retrieved.id == first.id and retrieved.status == "open"
    assert retrieved["updated_at"] == first["updated_at"]

    # `created` filters as the library sends them (created[gte]=…), with an ISO time too.
    since: Any = {"gte": first["created_at"]}
    recent = client.v1.checkout.sessions.list(params={"created": since, "limit": 100})
    assert first.id in [s.id for s in recent.data]

    page = client.v1.checkout.sessions.list(params={"limit": 2})
    assert len(page.data) == 2 and page.has_more
    listed = [s.id for s in page.auto_paging_iter()]
    assert listed == [s.id for s in reversed(created)]

    expired = client.v1.checkout.sessions.expire(first.id)
    assert expired.status == "expired"

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.expire(first.id)
    assert caught.value.code == "checkout_session_not_open"

    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient(
            api_key="sk_test_wrong", base_addresses={"api": base_url}
        ).v1.checkout.sessions.list()


async def test_official_stripe_library(live_server: LiveServer, merchant: MerchantKeys) -> None:
    await asyncio.to_thread(_drive_stripe, live_server.base_url, merchant.test_secret)


async def test_module_level_api_base(live_server: LiveServer, merchant: MerchantKeys) -> None:
    """The classic style: `stripe.api_base` + `stripe.checkout.Session`."""

    def run() -> None:
        stripe.api_key = merchant.test_secret
        stripe.api_base = live_server.base_url
        try:
            session = stripe.checkout.Session.create(  # type: ignore[call-arg]
                amount_fiat_cents=2500,
                currency="usd",
                allowed_crypto_currencies=["ETH"],
                allowed_networks=["devnet"],
                success_url="https://s.example/ok",
                cancel_url="https://s.example/no",
            )
            assert stripe.checkout.Session.retrieve(session.id).amount_fiat == "25.00"
            ids = [s.id for s in stripe.checkout.Session.list(limit=1).auto_paging_iter()]
            assert session.id in ids
            assert stripe.checkout.Session.expire(session.id).status == "expired"
        finally:
            stripe.api_base = "https://api.stripe.com"
            stripe.api_key = None

    await asyncio.to_thread(run)
