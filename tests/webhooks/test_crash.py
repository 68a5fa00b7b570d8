"""`kill -9` at every step of delivery loses nothing; rolled-back events are never sent.

Workers run as real `kassa worker` processes. `KASSA_WEBHOOKS_CRASH_AT` makes a worker
`os._exit(9)` at a named step: right after it claimed deliveries, or after a receiver's 2xx
and before the result is saved.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from app.models import WebhookAttempt, WebhookDelivery
from app.states import EventType, SessionStatus, transition
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import Receiver, create_endpoint, emit_events, new_session

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")

REPO = Path(__file__).resolve().parents[2]


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "KASSA_CONFIG_FILE": str(REPO / "tests" / "webhooks" / "no-such-kassa.toml"),
            "KASSA_DATABASE_URL": database_url,
            "KASSA_SECRET_KEY": "test-operator-secret-key-0123456789abcdef",
            "KASSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "KASSA_WEBHOOK_LEASE_SECONDS": "1",
            "KASSA_WEBHOOK_POLL_INTERVAL_SECONDS": "0.02",
            "KASSA_WEBHOOK_CONNECT_TIMEOUT_SECONDS": "1",
            "KASSA_WEBHOOK_TIMEOUT_SECONDS": "2",
            "KASSA_EXPIRY_INTERVAL_SECONDS": "3600",
            "KASSA_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


async def spawn_worker(database_url: str, log: Path, **extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "worker",
        cwd=str(REPO),
        env=worker_env(database_url, **extra),
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


def unique_pairs(*receivers: Receiver) -> set[tuple[int, str]]:
    return {(r.port, request.headers["webhook-id"]) for r in receivers for request in r.requests}


async def test_kill_9_after_claim_and_after_2xx_then_restart(
    client, merchant: MerchantKeys, receivers, database_url: str, tmp_path: Path
) -> None:
    first, second = await receivers(), await receivers()
    for receiver in (first, second):
        await create_endpoint(client, merchant, receiver.url())
    events = await emit_events(merchant.merchant.id, 12)

    # An event whose transaction rolled back: no event row, no delivery, never sent.
    doomed = await new_session(merchant.merchant.id)
    rolled_back_id = None
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            event = await transition(
                doomed, SessionStatus.CANCELED, EventType.CHECKOUT_SESSION_CANCELED, connection=conn
            )
            rolled_back_id = event.id
            raise RuntimeError("the caller's transaction fails after the event was written")
    assert rolled_back_id is not None
    assert not await WebhookDelivery.filter(event_id=rolled_back_id).exists()

    log = tmp_path / "worker.log"
    expected = {(r.port, e.id) for r in (first, second) for e in events}

    # 1. Dies right after claiming: nothing sent yet, the claims hold leases.
    crashed = await spawn_worker(database_url, log, KASSA_WEBHOOKS_CRASH_AT="after_claim")
    assert await asyncio.wait_for(crashed.wait(), 30) == 9, log.read_text()
    assert first.requests == [] and second.requests == []
    claimed = await WebhookDelivery.filter(event_id__in=[e.id for e in events], attempts=1).count()
    assert claimed > 0

    # 2. Dies after a receiver's 2xx, before saving the result.
    crashed = await spawn_worker(database_url, log, KASSA_WEBHOOKS_CRASH_AT="after_response")
    assert await asyncio.wait_for(crashed.wait(), 30) == 9, log.read_text()
    assert len(first.requests) + len(second.requests) >= 1
    assert (
        await WebhookDelivery.filter(
            event_id__in=[e.id for e in events], status="succeeded"
        ).count()
        == 0
    )

    # 3. A healthy worker retakes the expired leases and finishes everything.
    healthy = await spawn_worker(database_url, log)
    try:
        deadline = time.monotonic() + 30
        while unique_pairs(first, second) != expected:
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        while await WebhookDelivery.filter(
            event_id__in=[e.id for e in events], status="pending"
        ).exists():
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
    finally:
        await stop(healthy)

    # At least once for every (event, endpoint); a receiver deduplicating on webhook-id
    # sees each exactly once, and the rolled-back event never arrives.
    assert unique_pairs(first, second) == expected
    all_ids = [request.headers["webhook-id"] for r in (first, second) for request in r.requests]
    assert rolled_back_id not in all_ids
    assert len(all_ids) >= len(expected)
    deliveries = await WebhookDelivery.filter(event_id__in=[e.id for e in events])
    assert len(deliveries) == len(expected)
    assert all(d.status == "succeeded" for d in deliveries)
    # The killed attempts count: every delivery was claimed at least once before.
    assert sum(d.attempts for d in deliveries) >= len(expected) + claimed
    assert await WebhookAttempt.filter(delivery_id__in=[d.id for d in deliveries]).count() >= len(
        expected
    )
