"""app/notify.py: a notification exists exactly when its transaction committed, reaches the
other processes on PostgreSQL, and the listener survives losing its connection."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from quart import Quart
from tortoise.transactions import in_transaction

from app.notify import CHANNELS, OUTBOX, SESSION, TX_HINT, Listener, notify, process_listener

REPO = Path(__file__).resolve().parents[2]

# Another process: one rolled-back and one committed notification, through the app's code.
OTHER_PROCESS = r"""
import asyncio, sys
from tortoise.transactions import in_transaction
from app.db import close_database, open_database
from app.notify import SESSION, notify

async def main(database_url):
    await open_database(database_url)
    try:
        try:
            async with in_transaction() as conn:
                await notify(SESSION, "rolled-back", conn)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        async with in_transaction() as conn:
            await notify(SESSION, "committed", conn)
    finally:
        await close_database()

asyncio.run(main(sys.argv[1]))
"""


class Recorder:
    """Every payload a channel's subscriber was called with, and a wait for one."""

    def __init__(self) -> None:
        self.payloads: list[str | None] = []
        self._changed = asyncio.Event()

    def __call__(self, payload: str | None) -> None:
        self.payloads.append(payload)
        self._changed.set()

    async def wait_for(self, payload: str | None, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while payload not in self.payloads:
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def own_listener(database_url: str, dialect: str) -> AsyncIterator[Listener]:
    """A second listener in this process: its own LISTEN connection, like another process."""
    if dialect != "postgres":
        pytest.skip("one SQLite database is served by one process: wake-ups stay in-process")
    listener = Listener()
    await listener.start(database_url)
    assert listener.listening
    yield listener
    await listener.stop()


async def test_only_a_commit_notifies(app: Quart) -> None:
    """Inside a transaction nothing is delivered; a commit delivers it, a rollback never."""
    recorder = Recorder()
    unsubscribe = process_listener().subscribe(SESSION, recorder)
    try:
        async with in_transaction() as conn:
            await notify(SESSION, "cs_committed", conn)
            await asyncio.sleep(0.2)
            assert "cs_committed" not in recorder.payloads  # not before the commit
        await recorder.wait_for("cs_committed")

        with pytest.raises(RuntimeError):
            async with in_transaction() as conn:
                await notify(SESSION, "cs_rolled_back", conn)
                raise RuntimeError("roll back")
        # A later commit is delivered after anything sent before it: the rolled-back one
        # would be in the list by then.
        await notify(SESSION, "cs_after")
        await recorder.wait_for("cs_after")
        assert "cs_rolled_back" not in recorder.payloads
    finally:
        unsubscribe()


async def test_a_commit_in_another_process_wakes_this_one(
    own_listener: Listener, database_url: str
) -> None:
    recorder = Recorder()
    own_listener.subscribe(SESSION, recorder)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER_PROCESS, database_url, cwd=str(REPO)
    )
    assert await asyncio.wait_for(child.wait(), 60) == 0
    await recorder.wait_for("committed")
    assert "rolled-back" not in recorder.payloads


async def test_the_listener_reconnects_and_wakes_everyone(
    own_listener: Listener, database_url: str
) -> None:
    """Its backend killed (as a PostgreSQL restart would): it connects again, tells every
    subscriber that anything may have changed, and hears notifications again."""
    recorders = {channel: Recorder() for channel in CHANNELS}
    for channel, recorder in recorders.items():
        own_listener.subscribe(channel, recorder)
    killed = own_listener.backend_pid
    admin = await asyncpg.connect(database_url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", killed)
    finally:
        await admin.close()

    for recorder in recorders.values():
        await recorder.wait_for(None)  # everyone woken once the new connection listens
    assert own_listener.listening and own_listener.backend_pid != killed
    assert own_listener.connects == 2
    await notify(OUTBOX)
    await notify(TX_HINT, "devnet\tpay_1\t0xabc")
    await recorders[OUTBOX].wait_for("")
    await recorders[TX_HINT].wait_for("devnet\tpay_1\t0xabc")


async def test_a_listener_started_while_the_database_is_down_keeps_trying() -> None:
    """Startup never fails on the listener: the polls cover the gap until it connects."""
    listener = Listener()
    try:
        await asyncio.wait_for(listener.start("postgres://postgres@127.0.0.1:9/none"), 15)
        assert not listener.listening
    finally:
        await listener.stop()


def test_payloads_are_ids_only() -> None:
    async def too_long() -> None:
        await notify(SESSION, "x" * 8000)

    with pytest.raises(ValueError, match="8,000 bytes"):
        asyncio.run(too_long())
