"""A request cut off between its writes and its stored answer (its process killed, the
database restarted) leaves nothing behind: the client's retry with the same Idempotency-Key
runs afresh and has its effect exactly once. Before, the reservation stayed `in_progress` and
answered 409 to every retry for a day, and the effect existed without an answer
(tests/chaos found it).

Two ways are covered: `run_idempotent` (reservation, handler, answer in one transaction; here
expiring a session) and session creation's `run_idempotent_rows` (rows, answer and token in
one statement)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from app.api import idempotency
from app.models import CheckoutSession, Event, IdempotencyRecord
from tests.api.helpers import create_session, session_body
from tests.conftest import MerchantKeys


async def test_a_request_cut_off_before_its_answer_is_stored_leaves_nothing(
    client, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await create_session(client, merchant)
    path = f"/v1/checkout/sessions/{session['id']}/expire"
    headers = {**merchant.auth(), "Idempotency-Key": "cut-off-once"}
    real_filter = IdempotencyRecord.filter

    def storing_fails(*args: Any, **kwargs: Any) -> Any:
        # Storing the answer is `IdempotencyRecord.filter(id=...).update(...)`: the database
        # goes away right there, after the session was expired and its event written.
        if set(kwargs) == {"id"}:
            raise ConnectionResetError("the database went away before the answer was stored")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(IdempotencyRecord, "filter", storing_fails)
    with contextlib.suppress(ConnectionResetError):  # the test client may re-raise it
        cut = await client.post(path, json={}, headers=headers)
        assert cut.status_code == 500
    monkeypatch.setattr(IdempotencyRecord, "filter", real_filter)

    assert (await CheckoutSession.get(id=session["id"])).status == "open"
    expired = Event.filter(type="checkout.session.expired", object_id=session["id"])
    assert not await expired.exists()
    assert not await IdempotencyRecord.filter(key="cut-off-once").exists()

    retry = await client.post(path, json={}, headers=headers)
    assert retry.status_code == 200, await retry.get_data(as_text=True)
    again = await client.post(path, json={}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.get_json() == await retry.get_json()
    assert await expired.count() == 1


async def test_a_create_cut_off_leaves_nothing(
    client, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "create-cut-off-once"}
    real_insert = idempotency.insert_with_token

    async def database_goes_away(*args: Any, **kwargs: Any) -> float:
        raise ConnectionResetError("the database went away during the statement")

    monkeypatch.setattr(idempotency, "insert_with_token", database_goes_away)
    with contextlib.suppress(ConnectionResetError):  # the test client may re-raise it
        cut = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
        assert cut.status_code == 500
    monkeypatch.setattr(idempotency, "insert_with_token", real_insert)

    assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == 0
    assert not await IdempotencyRecord.filter(key="create-cut-off-once").exists()

    retry = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert retry.status_code == 200, await retry.get_data(as_text=True)
    again = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await again.get_json())["id"] == (await retry.get_json())["id"]
    assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == 1
