"""The per-key API rate limit: 429 `rate_limit_error` with `Retry-After`, on both databases."""

from __future__ import annotations

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from app.models import IdempotencyRecord
from tests.api.helpers import assert_error, session_body
from tests.conftest import MerchantKeys, new_merchant


@pytest.fixture
def tight_api_limit(app: Quart, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = app.config["KASSA_SETTINGS"]
    monkeypatch.setattr(settings, "api_requests_burst", 3)
    monkeypatch.setattr(settings, "api_requests_per_second", 0.01)  # one more every 100 s


async def test_a_key_over_its_limit_gets_429_rate_limit_error(
    client: Client, merchant: MerchantKeys, tight_api_limit: None
) -> None:
    for _ in range(3):
        assert (
            await client.get("/v1/checkout/sessions", headers=merchant.auth())
        ).status_code == 200
    limited = await client.get("/v1/checkout/sessions", headers=merchant.auth())
    body = await assert_error(limited, 429, "rate_limit_error", "rate_limit", None)
    assert "retry in" in body["error"]["message"]
    assert 90 <= int(limited.headers["Retry-After"]) <= 100
    # A write is refused before it is looked at: nothing is stored under its Idempotency-Key.
    post = await client.post(
        "/v1/checkout/sessions",
        json=session_body(),
        headers={**merchant.auth(), "Idempotency-Key": "limited-1"},
    )
    await assert_error(post, 429, "rate_limit_error", "rate_limit", None)
    assert await IdempotencyRecord.filter(key="limited-1").count() == 0


async def test_keys_are_limited_separately(
    client: Client, merchant: MerchantKeys, tight_api_limit: None
) -> None:
    for _ in range(4):
        await client.get("/v1/checkout/sessions", headers=merchant.auth())
    assert (await client.get("/v1/checkout/sessions", headers=merchant.auth())).status_code == 429
    # The same merchant's live key and another merchant's key have their own budgets.
    live = await client.get("/v1/checkout/sessions", headers=merchant.auth(livemode=True))
    assert live.status_code == 200
    other = await new_merchant("Other Shop")
    assert (await client.get("/v1/checkout/sessions", headers=other.auth())).status_code == 200


async def test_openapi_documents_the_429(client: Client) -> None:
    document = await (await client.get("/v1/openapi.json")).get_json()
    create = document["paths"]["/v1/checkout/sessions"]["post"]["responses"]
    assert "429" in create
