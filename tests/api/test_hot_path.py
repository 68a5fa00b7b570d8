"""Session creation's hot path stays one trip to the database (issue 13): on PostgreSQL one
statement and no reset statement when the pooled connection goes back; on SQLite one call on
aiosqlite's thread. Counted at the drivers, below Tortoise."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiosqlite
import asyncpg
import pytest

from app.inserts import insert_rows, new_row
from app.models import CheckoutSession
from app.objects import checkout_session_object
from app.states import SessionStatus
from tests.api.helpers import session_body
from tests.conftest import MerchantKeys

_ASYNCPG_CALLS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "reset")


@pytest.fixture
def driver_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def counting(owner: type, name: str) -> None:
        original = getattr(owner, name)

        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    for name in _ASYNCPG_CALLS:
        counting(asyncpg.connection.Connection, name)
    counting(aiosqlite.Connection, "_execute")  # every aiosqlite call is one of these
    return calls


async def test_a_create_is_one_trip_to_the_database(
    client: Any, merchant: MerchantKeys, driver_calls: list[str]
) -> None:
    # The first request looks the key up (and notes its use); the next ones find it cached.
    first = await client.post("/v1/checkout/sessions", json=session_body(), headers=merchant.auth())
    assert first.status_code == 200
    driver_calls.clear()
    response = await client.post(
        "/v1/checkout/sessions", json=session_body(), headers=merchant.auth()
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert len(driver_calls) == 1, driver_calls
    assert driver_calls[0] in ("fetchrow", "_execute")  # never "reset"
    created = (await response.get_json())["id"]
    assert await CheckoutSession.exists(id=created)


async def test_new_row_builds_what_the_model_builds(client: Any, merchant: MerchantKeys) -> None:
    """`inserts.new_row` skips `Model.__init__` on the hot path: the row it builds must be
    the same, stored the same, and a missing or unknown field is a programming error."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    values: dict[str, Any] = {
        "id": "cs_test_newrow",
        "merchant_id": merchant.merchant.id,
        "livemode": False,
        "status": SessionStatus.OPEN,
        "mode": "payment",
        "locale": "auto",
        "amount_fiat_cents": 5000,
        "fiat_currency": "EUR",
        "allowed_crypto_currencies": ["ETH"],
        "allowed_networks": ["devnet"],
        "payment_id": None,
        "checkout_url": "http://127.0.0.1/checkout/cs_test_newrow",
        "success_url": "https://shop.example/ok",
        "cancel_url": "https://shop.example/cancel",
        "customer_email": None,
        "client_reference_id": "order-1",
        "metadata": {"order": "1"},
        "expires_at": now + dt.timedelta(minutes=15),
        "created_at": now,
        "updated_at": now,
    }
    built, reference = new_row(CheckoutSession, **values), CheckoutSession(**values)
    for name in values:
        assert getattr(built, name) == getattr(reference, name), name
    assert not built._saved_in_db
    await insert_rows([built])
    stored = await CheckoutSession.get(id="cs_test_newrow")
    assert checkout_session_object(stored) == checkout_session_object(reference)
    with pytest.raises(TypeError, match="missing"):
        new_row(CheckoutSession, **{k: v for k, v in values.items() if k != "metadata"})
    with pytest.raises(TypeError, match="unknown"):
        new_row(CheckoutSession, **values, colour="red")
    with pytest.raises(ValueError, match="non nullable"):
        new_row(CheckoutSession, **{**values, "cancel_url": None})
