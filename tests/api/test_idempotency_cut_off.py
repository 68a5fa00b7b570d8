"""A request cut off between its writes and its stored answer (its process killed, the
database restarted) leaves nothing behind: the client's retry with the same Idempotency-Key
runs afresh and creates exactly one object. Before, the reservation stayed `in_progress` and
answered 409 to every retry for a day, and the object existed without an answer
(tests/chaos found it)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from app.models import CheckoutSession, IdempotencyRecord
from tests.api.helpers import session_body
from tests.conftest import MerchantKeys


async def test_a_request_cut_off_before_its_answer_is_stored_leaves_nothing(
    client, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "cut-off-once"}
    real_filter = IdempotencyRecord.filter

    def storing_fails(*args: Any, **kwargs: Any) -> Any:
        # Storing the answer is `IdempotencyRecord.filter(id=...).update(...)`: the database
        # goes away right there, after the session's rows were written.
        if set(kwargs) == {"id"}:
            raise ConnectionResetError("the database went away before the answer was stored")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(IdempotencyRecord, "filter", storing_fails)
    with contextlib.suppress(ConnectionResetError):  # the test client may re-raise it
        cut = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
        assert cut.status_code == 500
    monkeypatch.setattr(IdempotencyRecord, "filter", real_filter)

    assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == 0
    assert not await IdempotencyRecord.filter(key="cut-off-once").exists()

    retry = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert retry.status_code == 200, await retry.get_data(as_text=True)
    again = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert (await again.get_json())["id"] == (await retry.get_json())["id"]
    assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == 1
