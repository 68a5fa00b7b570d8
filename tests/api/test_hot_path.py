"""Session creation's hot path stays one trip to the database (issue 13): on PostgreSQL one
statement and no reset statement when the pooled connection goes back; on SQLite one call on
aiosqlite's thread. Counted at the drivers, below Tortoise."""

from __future__ import annotations

from typing import Any

import aiosqlite
import asyncpg
import pytest

from app.models import CheckoutSession
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
