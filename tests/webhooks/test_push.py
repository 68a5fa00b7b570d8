"""Push, not poll: a worker whose poll interval is 30 s still delivers an event within
seconds of its commit, woken by the outbox notification (in-process on SQLite; from another
process on PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.models import Heartbeat
from app.webhooks.worker import HEARTBEAT, DeliveryWorker
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import create_endpoint, emit_events, fast_settings
from tests.webhooks.test_crash import spawn_worker, stop

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")

# Far longer than the test waits: a delivery within it was pushed, not polled.
LONG_POLL_SECONDS = 30.0
WITHIN_SECONDS = 5.0


async def test_a_worker_with_a_long_poll_delivers_at_once(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    receiver = await receivers()
    await create_endpoint(client, merchant, receiver.url())
    worker = DeliveryWorker(
        fast_settings(database_url, webhook_poll_interval_seconds=LONG_POLL_SECONDS)
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)  # its first claim found nothing: it waits for the poll
        for count in (1, 2):
            [event] = await emit_events(merchant.merchant.id, 1)
            await receiver.wait_for(count, within=WITHIN_SECONDS)
            assert receiver.requests[-1].headers["webhook-id"] == event.id
    finally:
        worker.stop()
        await asyncio.wait_for(running, 10)


async def test_a_worker_process_is_woken_by_a_commit_here(
    client, merchant: MerchantKeys, receivers, database_url: str, dialect: str, tmp_path: Path
) -> None:
    if dialect != "postgres":
        pytest.skip("SQLite's wake-ups stay in one process")
    receiver = await receivers()
    await create_endpoint(client, merchant, receiver.url())
    await Heartbeat.filter(name=HEARTBEAT).delete()
    worker = await spawn_worker(
        database_url,
        tmp_path / "worker.log",
        KASSA_WEBHOOK_POLL_INTERVAL_SECONDS=str(LONG_POLL_SECONDS),
        KASSA_WEBHOOK_LEASE_SECONDS="10",
    )
    try:
        # Its heartbeat comes just before its first claim: after that it waits 30 s.
        beat = Heartbeat.filter(name=HEARTBEAT, process__endswith=f":{worker.pid}")
        for _ in range(600):
            if await beat.exists():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the worker process never started delivering")
        await asyncio.sleep(1.0)
        for count in (1, 2):
            [event] = await emit_events(merchant.merchant.id, 1)
            await receiver.wait_for(count, within=WITHIN_SECONDS)
            assert receiver.requests[-1].headers["webhook-id"] == event.id
    finally:
        await stop(worker)
