"""Idempotency-Key: one result per (API key, key), replayed byte for byte."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from app.api import checkout_sessions
from app.api.bodies import body_params
from app.api.errors import ApiError
from app.api.idempotency import _fingerprint
from app.models import CheckoutSession, IdempotencyRecord
from tests.api.helpers import assert_error, session_body
from tests.conftest import MerchantKeys


async def test_fifty_concurrent_identical_posts_create_one_session(
    client, merchant: MerchantKeys
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "order-1234"}
    body = session_body(metadata={"order": "1234"})

    async def post():
        response = await client.post("/v1/checkout/sessions", json=body, headers=headers)
        return response.status_code, await response.get_data()

    results = await asyncio.gather(*(post() for _ in range(50)))
    assert {status for status, _ in results} == {200}
    assert len({data for _, data in results}) == 1, "every caller gets the same bytes"
    count = await CheckoutSession.filter(merchant_id=merchant.merchant.id).count()
    assert count == 1


async def test_same_key_different_body_is_idempotency_error(client, merchant: MerchantKeys) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "k-1"}
    first = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert first.status_code == 200
    second = await client.post(
        "/v1/checkout/sessions", json=session_body(amount_fiat="51.00"), headers=headers
    )
    await assert_error(
        second, 400, "idempotency_error", "idempotency_key_reused", "Idempotency-Key"
    )


async def test_replay_is_byte_identical_and_marked(client, merchant: MerchantKeys) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "k-2"}
    first = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    # Form encoding of the same parameters is the same request.
    replay = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert await replay.get_data() == await first.get_data()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Request-Id"] != first.headers["Request-Id"]


async def test_keys_are_scoped_per_api_key(client, merchant: MerchantKeys) -> None:
    test_headers = {**merchant.auth(), "Idempotency-Key": "shared"}
    live_headers = {**merchant.auth(livemode=True), "Idempotency-Key": "shared"}
    a = await (
        await client.post("/v1/checkout/sessions", json=session_body(), headers=test_headers)
    ).get_json()
    b = await (
        await client.post(
            "/v1/checkout/sessions",
            json=session_body(allowed_networks=["ethereum"]),
            headers=live_headers,
        )
    ).get_json()
    assert a["id"] != b["id"] and b["livemode"] is True


async def test_validation_failure_stores_nothing(client, merchant: MerchantKeys) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "fix-me"}
    bad = await client.post(
        "/v1/checkout/sessions", json=session_body(currency="XYZ"), headers=headers
    )
    assert bad.status_code == 400
    assert not await IdempotencyRecord.filter(key="fix-me").exists()
    good = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert good.status_code == 200


async def test_in_flight_twin_gets_409_after_waiting(app, client, merchant: MerchantKeys) -> None:
    """A twin still running (here: a reservation nobody finishes) is waited for, then 409."""
    api_key = await merchant.merchant.api_keys.filter(livemode=False).first()
    headers = {**merchant.auth(), "Idempotency-Key": "stuck"}
    async with app.test_request_context(
        "/v1/checkout/sessions", method="POST", json=session_body(), headers=headers
    ):
        fingerprint = _fingerprint(await body_params())
    await IdempotencyRecord.create(
        api_key=api_key,
        key="stuck",
        request_fingerprint=fingerprint,
        state="in_progress",
        created_at=dt.datetime.now(dt.UTC),
    )
    settings = app.config["KASSA_SETTINGS"]
    old_wait, settings.idempotency_wait_seconds = settings.idempotency_wait_seconds, 0.2
    try:
        response = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    finally:
        settings.idempotency_wait_seconds = old_wait
    await assert_error(
        response, 409, "idempotency_error", "idempotency_key_in_use", "Idempotency-Key"
    )


async def test_idempotency_key_too_long(client, merchant: MerchantKeys) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "k" * 256}
    response = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    await assert_error(
        response, 400, "idempotency_error", "idempotency_key_invalid", "Idempotency-Key"
    )


async def test_a_refusal_is_stored_and_replayed(
    client, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only validation failures (400 invalid_request_error) and 5xx store nothing: another
    refusal is the key's answer, replayed (session creation stores it without rows)."""

    async def refused(caller: Any) -> Any:
        raise ApiError(403, "invalid_request_error", "merchant_suspended", "Not now.")

    monkeypatch.setattr(checkout_sessions, "_new_session", refused)
    headers = {**merchant.auth(), "Idempotency-Key": "refused-once"}
    first = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert first.status_code == 403
    monkeypatch.undo()
    again = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert again.status_code == 403 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.get_data() == await first.get_data()
    assert not await CheckoutSession.filter(merchant_id=merchant.merchant.id).exists()
