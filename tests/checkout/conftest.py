"""Checkout page fixtures: sessions created through the real API, a fake network registry."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from app.models import CheckoutSession, Merchant, RateLimit
from app.networks import install_registry
from tests.checkout.fakes import PAYOUT, fake_create_payment, fake_registry
from tests.conftest import MerchantKeys


@pytest.fixture
def registry(app: Quart) -> Iterator[Any]:
    registry = fake_registry(app.config["KASSA_SETTINGS"])
    previous = install_registry(registry)
    yield registry
    install_registry(previous)


@pytest.fixture
def fake_payments(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.payments

    monkeypatch.setattr(app.payments, "create_payment", fake_create_payment)


@pytest.fixture
async def fresh_rate_limits(app: Quart) -> AsyncIterator[None]:
    """Full buckets: they are database rows, and every test client shares one address."""
    await RateLimit.all().delete()
    yield
    await RateLimit.all().delete()


# A session for 12.34 USD, payable in ETH or USDC on the devnet.
SESSION_BODY: dict[str, Any] = {
    "amount_fiat": "12.34",
    "currency": "USD",
    "allowed_crypto_currencies": ["ETH", "USDC"],
    "allowed_networks": ["devnet"],
    "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://shop.example/cart",
}


async def create_session(
    client: TestClientProtocol, keys: MerchantKeys, **overrides: Any
) -> dict[str, Any]:
    body = {**SESSION_BODY, **overrides}
    response = await client.post("/v1/checkout/sessions", json=body, headers=keys.auth())
    assert response.status_code == 200, await response.get_data(as_text=True)
    return json.loads(await response.get_data(as_text=True))


@pytest.fixture
async def payable_merchant(merchant: MerchantKeys) -> MerchantKeys:
    await Merchant.filter(id=merchant.merchant.id).update(payout_addresses={"devnet": PAYOUT})
    return merchant


@pytest.fixture
async def session(
    client: TestClientProtocol,
    payable_merchant: MerchantKeys,
    registry: Any,
    fresh_rate_limits: None,
) -> AsyncIterator[CheckoutSession]:
    created = await create_session(client, payable_merchant)
    yield await CheckoutSession.get(id=created["id"])
