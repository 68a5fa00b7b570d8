"""The per-key API rate limit: 429 `rate_limit_error` with `Retry-After`, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from app.models import CheckoutSession, IdempotencyRecord
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


async def test_concurrent_creates_spend_exactly_the_burst(
    client: Client, merchant: MerchantKeys, tight_api_limit: None
) -> None:
    """Session creation spends its token with its own writes (one transaction; on SQLite
    several requests share one): of 12 at once, 3 are created and 9 refused, and the refused
    ones leave nothing behind."""
    responses = await asyncio.gather(
        *(
            client.post("/v1/checkout/sessions", json=session_body(), headers=merchant.auth())
            for _ in range(12)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 3 + [429] * 9
    for response in responses:
        if response.status_code == 429:
            # 100 s, rounded up; concurrent requests' clocks differ by a few milliseconds.
            assert 90 <= int(response.headers["Retry-After"]) <= 101
    assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == 3


async def test_a_refused_create_still_spends_a_token_and_429_comes_first(
    client: Client, merchant: MerchantKeys, tight_api_limit: None
) -> None:
    invalid = session_body(amount_fiat="not money")
    for _ in range(3):
        response = await client.post("/v1/checkout/sessions", json=invalid, headers=merchant.auth())
        assert response.status_code == 400
    # The bucket is empty now: a valid create and an invalid one are both told 429.
    for body in (session_body(), invalid):
        response = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth())
        await assert_error(response, 429, "rate_limit_error", "rate_limit", None)
    assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == 0


async def test_many_concurrent_creates_are_all_stored(
    client: Client, merchant: MerchantKeys
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/checkout/sessions",
                json=session_body(client_reference_id=f"order-{number}"),
                headers=merchant.auth(),
            )
            for number in range(60)
        )
    )
    assert {response.status_code for response in responses} == {200}
    ids = {(await response.get_json())["id"] for response in responses}
    stored = await CheckoutSession.filter(merchant_id=merchant.merchant.id)
    assert {session.id for session in stored} == ids and len(ids) == 60
    assert {session.client_reference_id for session in stored} == {
        f"order-{number}" for number in range(60)
    }


async def test_openapi_documents_the_429(client: Client) -> None:
    document = await (await client.get("/v1/openapi.json")).get_json()
    create = document["paths"]["/v1/checkout/sessions"]["post"]["responses"]
    assert "429" in create
