"""Bad receivers: every attempt ends within the timeout, retries follow the schedule, and
healthy endpoints keep receiving meanwhile."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.retry import RETRY_DELAYS, RETRY_WINDOW, next_attempt_at
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import (
    OffsetClock,
    Received,
    Reply,
    create_endpoint,
    emit_events,
    fast_settings,
)

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")


def near(moment: dt.datetime, expected: dt.datetime, seconds: float) -> bool:
    return abs((moment - expected).total_seconds()) <= seconds


async def test_bad_receivers_time_out_and_healthy_ones_keep_flowing(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    modes = {
        "/hang": Reply(mode="hang"),
        "/reset": Reply(mode="reset"),
        "/500": Reply(status=500, body=b"boom"),
        "/huge": Reply(status=500, mode="stream", stream_bytes=64 * 1024 * 1024),
    }
    bad = await receivers(lambda r: modes[r.path])
    good = await receivers()
    redirect = await receivers(
        lambda r: Reply(status=302, headers={"Location": good.url("/stolen")})
    )
    bad_ids = {}
    for path in modes:
        bad_ids[path] = (await create_endpoint(client, merchant, bad.url(path)))["id"]
    bad_ids["/302"] = (await create_endpoint(client, merchant, redirect.url("/r")))["id"]
    await create_endpoint(client, merchant, good.url())
    events = await emit_events(merchant.merchant.id, 10)

    settings = fast_settings(database_url, webhook_timeout_seconds=2.0)
    worker = DeliveryWorker(settings)
    started = time.monotonic()
    try:
        runner = asyncio.create_task(worker.run_until_idle())
        # The good endpoint has everything long before the hanging attempts time out.
        await good.wait_for(10, within=1.5)
        assert time.monotonic() - started < 1.6
        await asyncio.wait_for(runner, 10)
    finally:
        await worker.aclose()
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 6.0, elapsed  # hanging attempts end at the 2 s timeout
    assert sorted(good.ids()) == sorted(e.id for e in events)
    assert all(r.path == "/hook" for r in good.requests)  # the 302 was never followed
    assert bad.streamed_bytes < 8 * 1024 * 1024  # we stopped reading the huge body

    for path, endpoint_id in bad_ids.items():
        deliveries = await WebhookDelivery.filter(endpoint_id=endpoint_id)
        assert len(deliveries) == 10, path
        for delivery in deliveries:
            assert delivery.status == "pending", path
            assert delivery.attempts == 1, path
            after = delivery.next_attempt_at - delivery.created_at
            assert dt.timedelta(seconds=4) < after < dt.timedelta(seconds=12), (path, after)
        attempt = await WebhookAttempt.filter(delivery_id=deliveries[0].id).first()
        assert attempt is not None
        assert attempt.duration_ms < 2500, path
        if path == "/huge":
            assert attempt.status_code == 500 and len(attempt.response_body or "") == 4096
        if path == "/500":
            assert attempt.status_code == 500 and attempt.response_body == "boom"
        if path == "/302":
            assert attempt.status_code == 302 and "redirect" in (attempt.error or "")
        if path in ("/hang",):
            assert "timed out" in (attempt.error or "")
        if path == "/reset":
            assert attempt.error and attempt.status_code is None


async def test_huge_body_is_cut_at_4_kib(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    huge = await receivers(lambda r: Reply(status=200, mode="stream", stream_bytes=32 << 20))
    endpoint = await create_endpoint(client, merchant, huge.url())
    await emit_events(merchant.merchant.id, 1)
    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    delivery = await WebhookDelivery.get(endpoint_id=endpoint["id"])
    assert delivery.status == "succeeded"
    attempt = await WebhookAttempt.get(delivery_id=delivery.id)
    assert attempt.response_body is not None and len(attempt.response_body) == 4096
    assert huge.streamed_bytes < 8 << 20


async def test_retry_schedule_with_a_moving_clock(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    failing = await receivers(lambda r: Reply(status=503))
    endpoint = await create_endpoint(client, merchant, failing.url())
    (event,) = await emit_events(merchant.merchant.id, 1)
    clock = OffsetClock()
    worker = DeliveryWorker(fast_settings(database_url), clock=clock)
    delivery = await WebhookDelivery.get(endpoint_id=endpoint["id"])
    deadline = delivery.created_at + RETRY_WINDOW
    try:
        seen_delays = []
        for attempt_number in range(1, 30):
            await worker.run_until_idle()
            assert len(failing.requests) == attempt_number
            delivery = await WebhookDelivery.get(id=delivery.id)
            assert delivery.attempts == attempt_number
            if delivery.status == "failed":
                break
            delay = (delivery.next_attempt_at - clock.now()).total_seconds()
            seen_delays.append(delay)
            # Nothing happens before the retry is due.
            clock.advance(max(delay - 2, 0))
            await worker.run_until_idle()
            assert len(failing.requests) == attempt_number
            clock.advance(2.5)
    finally:
        await worker.aclose()
    assert delivery.status == "failed"
    assert delivery.completed_at is not None
    for delay, expected in zip(seen_delays, RETRY_DELAYS, strict=False):
        assert expected * 0.88 <= delay <= expected * 1.12, (delay, expected)
    # Daily after the list, with the last try at the end of the 3-day window.
    assert all(d <= 86_400 * 1.12 for d in seen_delays)
    assert clock.now() >= deadline - dt.timedelta(seconds=10)
    assert len(seen_delays) >= len(RETRY_DELAYS) + 1
    assert failing.ids() == [event.id] * len(failing.requests)


async def test_retry_after_is_honoured_and_410_disables(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    throttled = await receivers(lambda r: Reply(status=429, headers={"Retry-After": "120"}))
    gone = await receivers(lambda r: Reply(status=410))
    slow_id = (await create_endpoint(client, merchant, throttled.url()))["id"]
    gone_id = (await create_endpoint(client, merchant, gone.url()))["id"]
    await emit_events(merchant.merchant.id, 2)
    clock = OffsetClock()
    worker = DeliveryWorker(fast_settings(database_url), clock=clock)
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    for delivery in await WebhookDelivery.filter(endpoint_id=slow_id):
        assert delivery.status == "pending"
        assert near(delivery.next_attempt_at, clock.now() + dt.timedelta(seconds=120), 5)
    assert len(gone.requests) >= 1
    endpoint = await WebhookEndpoint.get(id=gone_id)
    assert endpoint.status == "disabled"
    assert "410" in (endpoint.disabled_reason or "")
    statuses = {d.status for d in await WebhookDelivery.filter(endpoint_id=gone_id)}
    assert "failed" in statuses
    shown = await (
        await client.get(f"/v1/webhook_endpoints/{gone_id}", headers=merchant.auth())
    ).get_json()
    assert shown["status"] == "disabled"


def test_next_attempt_stops_at_the_window() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    until = now + dt.timedelta(hours=1)
    assert next_attempt_at(9, now, until) == until  # pulled in to the window's end
    assert next_attempt_at(9, until - dt.timedelta(seconds=1), until) is None
    later = next_attempt_at(1, now, until, retry_after=600)
    assert later is not None and near(later, now + dt.timedelta(seconds=600), 1)


async def test_one_endpoint_cannot_take_every_slot(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    """200 events to a hanging endpoint and 200 to a healthy one, 16 slots per endpoint."""
    hanging = await receivers(lambda r: Reply(mode="hang"))
    good = await receivers()
    await create_endpoint(client, merchant, hanging.url(), events=["checkout.session.expired"])
    await create_endpoint(client, merchant, good.url())
    await emit_events(merchant.merchant.id, 60)
    settings = fast_settings(
        database_url,
        webhook_concurrency=24,
        webhook_endpoint_concurrency=8,
        webhook_timeout_seconds=5.0,
    )
    worker = DeliveryWorker(settings)
    runner = asyncio.create_task(worker.run())
    try:
        await good.wait_for(60, within=4)
        assert len(hanging.requests) <= 8
    finally:
        worker.stop()
        await asyncio.wait_for(runner, 10)


def _unused(_: Received) -> None:
    return None
