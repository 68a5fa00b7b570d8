"""Status streams are pushed: a session changed by another process (PostgreSQL) or by this
one (SQLite) reaches its open stream at once, though the streams' poll is 30 s apart."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from app.checkout.routes import read_statuses
from app.checkout.streams import StatusReading, StatusStreams
from app.models import CheckoutSession
from app.notify import process_listener
from app.states import EventType, SessionStatus, transition
from tests.checkout.test_i18n import next_event, status_stream

REPO = Path(__file__).resolve().parents[2]
LONG_POLL_SECONDS = 30.0

# Another Kassa process cancels the session, through `transition()` like the checkout does.
CANCEL_ELSEWHERE = r"""
import asyncio, sys
from app.db import close_database, open_database
from app.models import CheckoutSession
from app.states import EventType, SessionStatus, transition

async def main(database_url, session_id):
    await open_database(database_url)
    try:
        session = await CheckoutSession.get(id=session_id)
        await transition(session, SessionStatus.CANCELED, EventType.CHECKOUT_SESSION_CANCELED)
    finally:
        await close_database()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture
async def slow_polling_streams(app: Quart) -> AsyncIterator[StatusStreams]:
    """The app's status streams, polling every 30 s: only a notification can be quick."""

    async def read(session_ids: list[str]) -> dict[str, StatusReading]:
        return await read_statuses(app, session_ids)

    previous = app.config.get("KASSA_STATUS_STREAMS")
    streams = StatusStreams(read, LONG_POLL_SECONDS, process_listener())
    app.config["KASSA_STATUS_STREAMS"] = streams
    yield streams
    await streams.close()
    if previous is not None:
        app.config["KASSA_STATUS_STREAMS"] = previous
    else:
        app.config.pop("KASSA_STATUS_STREAMS", None)


async def test_a_change_reaches_the_stream_without_waiting_for_the_poll(
    client: Client,
    session: CheckoutSession,
    fake_payments: None,
    slow_polling_streams: StatusStreams,
    database_url: str,
    dialect: str,
) -> None:
    async with status_stream(client, session.id, "en", "192.0.2.91") as stream:
        assert "Choose a currency, then press Pay." in await next_event(stream)
        if dialect == "postgres":
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CANCEL_ELSEWHERE, database_url, session.id, cwd=str(REPO)
            )
            assert await asyncio.wait_for(child.wait(), 60) == 0
        else:  # SQLite is served by one process: the change is made in this one
            await transition(session, SessionStatus.CANCELED, EventType.CHECKOUT_SESSION_CANCELED)
        # next_event waits 10 s at most, a third of the poll interval.
        assert "This checkout was canceled." in await next_event(stream)
