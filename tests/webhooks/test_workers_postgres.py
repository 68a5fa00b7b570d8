"""Four `kassa worker` processes on PostgreSQL share 3,000 deliveries without doubling any."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from app.models import CheckoutSession, WebhookAttempt, WebhookDelivery
from app.states import EventType, SessionStatus, transition
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import create_endpoint, session_row
from tests.webhooks.test_crash import spawn_worker, stop

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("private_targets", "clean_endpoints")]

EVENTS = 1000
WORKERS = 4


async def test_four_workers_deliver_each_exactly_once(
    client, merchant: MerchantKeys, receivers, database_url: str, dialect: str, tmp_path: Path
) -> None:
    if dialect != "postgres":
        pytest.skip("SKIP LOCKED claiming across processes is a PostgreSQL deployment")
    endpoints = [await receivers() for _ in range(3)]
    endpoint_ids = [(await create_endpoint(client, merchant, r.url()))["id"] for r in endpoints]
    log = tmp_path / "workers.log"
    # A lease far longer than the test: any second delivery would be a double claim.
    workers = [
        await spawn_worker(
            database_url,
            log,
            KASSA_WEBHOOK_LEASE_SECONDS="300",
            KASSA_WEBHOOK_POLL_INTERVAL_SECONDS="0.1",
        )
        for _ in range(WORKERS)
    ]
    try:
        sessions = [session_row(merchant.merchant.id) for _ in range(EVENTS)]
        await CheckoutSession.bulk_create(sessions, batch_size=500)

        async def expire(chunk: list[CheckoutSession]) -> list[str]:
            # 100 transitions per transaction: the outbox rows commit with their events.
            async with in_transaction() as conn:
                return [
                    (
                        await transition(
                            s,
                            SessionStatus.EXPIRED,
                            EventType.CHECKOUT_SESSION_EXPIRED,
                            connection=conn,
                        )
                    ).id
                    for s in chunk
                ]

        chunks = [sessions[i : i + 100] for i in range(0, EVENTS, 100)]
        event_ids = [eid for ids in await asyncio.gather(*map(expire, chunks)) for eid in ids]
        deadline = time.monotonic() + 45
        while sum(len(r.requests) for r in endpoints) < EVENTS * 3:
            assert time.monotonic() < deadline, (
                [len(r.requests) for r in endpoints],
                log.read_text()[-3000:],
            )
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything doubled would arrive now
    finally:
        for worker in workers:
            await stop(worker)

    for receiver in endpoints:
        counts = Counter(request.headers["webhook-id"] for request in receiver.requests)
        assert set(counts) == set(event_ids)
        doubled = [event_id for event_id, count in counts.items() if count > 1]
        if doubled:
            # Say whether a worker retried (a recorded failed attempt: the receiver answered
            # too late) or two workers held one claim (one attempt recorded).
            rows = await WebhookDelivery.filter(event_id__in=doubled[:3]).values(
                "id", "event_id", "attempts", "status", "last_error"
            )
            attempts = await WebhookAttempt.filter(delivery_id__in=[r["id"] for r in rows]).values(
                "delivery_id", "number", "status_code", "error", "started_at"
            )
            pytest.fail(f"delivered twice: {counts.most_common(3)}; {rows}; {attempts}")
    deliveries = await WebhookDelivery.filter(endpoint_id__in=endpoint_ids)
    assert len(deliveries) == EVENTS * 3
    assert {d.status for d in deliveries} == {"succeeded"}
    assert {d.attempts for d in deliveries} == {1}
