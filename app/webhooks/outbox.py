"""The transactional outbox: which endpoints an event is owed to, redelivery, pruning.

`enqueue_deliveries` runs inside the transaction that writes an Event (`transition()` /
`record_event()`), so an event is owed to its endpoints exactly when it committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.models import Event, WebhookDelivery, WebhookEndpoint, new_id
from app.notify import OUTBOX, notify
from app.states import EventType, WebhookDeliveryStatus, WebhookEndpointStatus, utcnow
from app.webhooks.retry import RETRY_WINDOW


def event_type_pattern_valid(pattern: str) -> bool:
    """`*`, a known type, or a prefix wildcard of known types such as `payment.*`."""
    if pattern == "*" or pattern in tuple(EventType):
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(t.startswith(prefix) for t in EventType)
    return False


def event_matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to `patterns` is owed an event of `event_type`."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def owed_to(endpoint_id: str, patterns: Iterable[str], event: Event) -> bool:
    """Whether `event` is owed to the endpoint: subscribed to its type, or, for a test event,
    the endpoint it tests (its object) and only that one, so an endpoint subscribed to "*"
    is not sent the tests of the merchant's other endpoints."""
    if event.type == EventType.WEBHOOK_ENDPOINT_TEST:
        return endpoint_id == event.object_id
    return event_matches(patterns, event.type)


async def enqueue_deliveries(event: Event, connection: BaseDBAsyncClient) -> None:
    """The event listener: owe `event` to every subscribed, enabled endpoint, in its transaction."""
    endpoints = (
        await WebhookEndpoint.filter(
            merchant_id=event.merchant_id,  # type: ignore[attr-defined]
            livemode=event.livemode,
            status=WebhookEndpointStatus.ENABLED,
        )
        .using_db(connection)
        .values("id", "enabled_events")
    )
    rows = [
        WebhookDelivery(
            id=new_id("whdel"),
            event_id=event.id,
            endpoint_id=endpoint["id"],
            status=WebhookDeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=event.created_at,
            retry_until=event.created_at + RETRY_WINDOW,
            created_at=event.created_at,
        )
        for endpoint in endpoints
        if owed_to(endpoint["id"], endpoint["enabled_events"], event)
    ]
    if rows:
        await WebhookDelivery.bulk_create(rows, using_db=connection)
        # Delivered on commit: the workers (any process) claim at once instead of next poll.
        await notify(OUTBOX, "", connection)


async def schedule_redelivery(
    event: Event, endpoint_ids: list[str], now: dt.datetime
) -> list[WebhookDelivery]:
    """Manual resend: make each (event, endpoint) due now with a fresh retry window."""
    async with in_transaction() as conn:
        for endpoint_id in endpoint_ids:
            existing = (
                await WebhookDelivery.filter(event_id=event.id, endpoint_id=endpoint_id)
                .using_db(conn)
                .update(
                    status=WebhookDeliveryStatus.PENDING,
                    next_attempt_at=now,
                    retry_until=now + RETRY_WINDOW,
                    lease_token=None,
                    completed_at=None,
                )
            )
            if not existing:
                await WebhookDelivery.create(
                    id=new_id("whdel"),
                    event_id=event.id,
                    endpoint_id=endpoint_id,
                    status=WebhookDeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    retry_until=now + RETRY_WINDOW,
                    created_at=now,
                    using_db=conn,
                )
        await notify(OUTBOX, "", conn)
    return await WebhookDelivery.filter(event_id=event.id, endpoint_id__in=endpoint_ids)


async def prune_events(retention_days: int, now: dt.datetime | None = None) -> int:
    """Delete events (and, by cascade, their deliveries) older than the retention."""
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    removed = 0
    while True:
        ids = await Event.filter(created_at__lt=cutoff).limit(500).values_list("id", flat=True)
        if not ids:
            return removed
        removed += await Event.filter(id__in=list(ids)).delete()
