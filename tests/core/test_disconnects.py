"""A client that disconnects mid-request leaves no half-open transaction behind.

Quart cancels a request's handler when its client goes away. Cancelled while Tortoise opened
a transaction, the handler used to leave SQLite's connection lock held (every later
transaction hung: the whole API froze until a restart, seen under `bench/api.py` when wrk
closed its connections) and leak a pooled PostgreSQL connection. Requests now run to their
end: the one whose client left is committed, and the next request is served.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from quart import Quart
from tortoise.transactions import in_transaction

from app.models import CheckoutSession
from tests.api.helpers import create_session
from tests.asgi import post_scope
from tests.conftest import MerchantKeys


def _transaction_client_class() -> type:
    """The class whose `begin()` every `in_transaction()` awaits on this database."""
    context: Any = in_transaction()
    client = getattr(context, "connection", None) or context.client
    return type(client)


async def test_a_client_leaving_mid_transaction_does_not_wedge_the_database(
    app: Quart, client: Any, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await create_session(client, merchant)
    in_begin, release = asyncio.Event(), asyncio.Event()
    transaction_class = _transaction_client_class()
    original_begin = transaction_class.begin

    async def slow_begin(self: Any) -> None:
        in_begin.set()  # the handler is inside the transaction's start: the client leaves now
        await release.wait()
        await original_begin(self)

    monkeypatch.setattr(transaction_class, "begin", slow_begin)
    path = f"/v1/checkout/sessions/{session['id']}/expire"
    scope = post_scope(
        path,
        [
            (b"authorization", merchant.auth()["Authorization"].encode()),
            (b"content-type", b"application/json"),
        ],
    )
    messages = iter([{"type": "http.request", "body": b"{}", "more_body": False}])

    async def receive() -> dict[str, Any]:
        message = next(messages, None)
        if message is not None:
            return message
        await in_begin.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=10)  # type: ignore[arg-type]
    assert sent == [], "the client left before any answer"
    release.set()
    monkeypatch.setattr(transaction_class, "begin", original_begin)

    async def after_the_disconnect() -> int:
        # The request whose client left is still being handled, and shutdown (which waits
        # for it before closing the database) sees it end: the session is expired.
        assert len(app.handling) == 1  # type: ignore[attr-defined]
        await app.finish_requests(5)  # type: ignore[attr-defined]
        assert not app.handling  # type: ignore[attr-defined]
        assert (await CheckoutSession.get(id=session["id"])).status == "expired"
        # And the database is free: the next write is served at once, not after a restart.
        other = await create_session(client, merchant)
        response = await client.post(
            f"/v1/checkout/sessions/{other['id']}/expire", headers=merchant.auth(), json={}
        )
        return int(response.status_code)

    try:
        status = await asyncio.wait_for(after_the_disconnect(), timeout=10)
    except TimeoutError:
        pytest.fail("the database is wedged: a transaction never ended after the disconnect")
    assert status == 200
