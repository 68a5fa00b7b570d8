"""Status vocabularies, event types, the allowed transitions, and `transition()`.

`transition()` is the only writer of session and payment statuses. Watchers, plugins and API
handlers report facts; this module decides what they mean for statuses. Every change writes
its `Event` in the same database transaction, so an event exists exactly when its change
committed. Webhook endpoint and delivery statuses are written by `app.webhooks`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app.models import CheckoutSession, Event, Payment, Refund, new_id
from app.notify import SESSION, notify


class SessionStatus(StrEnum):
    """Where a checkout session stands."""

    OPEN = "open"  # waiting for a payment
    COMPLETED = "completed"  # a confirmed payment matched it; terminal
    EXPIRED = "expired"  # its time ran out with nothing pending; terminal
    CANCELED = "canceled"  # the shopper or merchant gave up; terminal


class PaymentStatus(StrEnum):
    """Where a payment stands."""

    PENDING = "pending"  # created; a transaction may be seen but is not final yet
    CONFIRMED = "confirmed"  # its money is final on chain; terminal
    # The chain passed its deadline unpaid, or a switch of option replaced it; money arriving
    # later still confirms it (a transaction the wallet sent before the switch is followed
    # while the payment stays expired).
    EXPIRED = "expired"


class RefundStatus(StrEnum):
    """Where a refund stands (the merchant sends it from their own wallet)."""

    PENDING_ADDRESS = "pending_address"  # waiting for the shopper to give an address
    PENDING = "pending"  # the address is known; waiting for the merchant's transfer
    SUCCEEDED = "succeeded"  # the transfer from the payout address is on chain; terminal
    CANCELED = "canceled"  # the merchant withdrew it before it was paid; terminal


class EventType(StrEnum):
    """What an `Event` reports; the names merchants subscribe webhook endpoints to."""

    CHECKOUT_SESSION_COMPLETED = "checkout.session.completed"  # a confirmed payment matched it
    CHECKOUT_SESSION_EXPIRED = "checkout.session.expired"  # its time ran out unpaid
    CHECKOUT_SESSION_CANCELED = "checkout.session.canceled"  # the shopper or merchant gave up
    PAYMENT_CREATED = "payment.created"  # prepared for a session, nothing seen on chain yet
    PAYMENT_PENDING = "payment.pending"  # its transaction is seen, not final yet
    PAYMENT_REORGED = "payment.reorged"  # a seen transaction left the canonical chain
    PAYMENT_CONFIRMED = "payment.confirmed"  # its transaction is final on chain
    # The chain passed its deadline with no transaction, or a new payment of the session
    # replaced it before anything of it was seen.
    PAYMENT_EXPIRED = "payment.expired"
    # Plain transfers to a deposit address (networks that have them):
    PAYMENT_UNDERPAID = "payment.underpaid"  # final money there is short of the amount
    PAYMENT_OVERPAID = "payment.overpaid"  # final money there exceeds the amount
    PAYMENT_UNEXPECTED_TOKEN = "payment.unexpected_token"  # another token arrived there
    REFUND_CREATED = "refund.created"  # the merchant refunds a payment; claim link made
    REFUND_ADDRESS_PROVIDED = "refund.address_provided"  # the shopper gave the address
    REFUND_SUCCEEDED = "refund.succeeded"  # the merchant's transfer was seen on chain
    REFUND_CANCELED = "refund.canceled"  # the merchant withdrew it before paying
    # A payout address was set, changed or removed (dashboard, with the password again).
    MERCHANT_PAYOUT_ADDRESS_UPDATED = "merchant.payout_address.updated"
    # Sent on request to one endpoint only, whatever it subscribes to (dashboard or API).
    WEBHOOK_ENDPOINT_TEST = "webhook_endpoint.test"


class WebhookEndpointStatus(StrEnum):
    """Whether an endpoint is sent events."""

    ENABLED = "enabled"  # owed every subscribed event
    DISABLED = "disabled"  # by the merchant, or after it answered 410 Gone; owed nothing


class WebhookDeliveryStatus(StrEnum):
    """Where one event's delivery to one endpoint stands."""

    PENDING = "pending"  # due at next_attempt_at (first try or a retry)
    SUCCEEDED = "succeeded"  # the endpoint answered 2xx; terminal until a manual resend
    FAILED = "failed"  # retries ran out or the endpoint answered 410; terminal until a resend


SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SessionStatus.OPEN: frozenset(
        {SessionStatus.COMPLETED, SessionStatus.EXPIRED, SessionStatus.CANCELED}
    ),
}
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.CONFIRMED, PaymentStatus.EXPIRED}),
    # Money that reaches an expired payment's deposit address still confirms it, late; so does
    # (late only if its session closed) a transaction sent before a switch replaced it.
    PaymentStatus.EXPIRED: frozenset({PaymentStatus.CONFIRMED}),
}
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RefundStatus.PENDING_ADDRESS: frozenset({RefundStatus.PENDING, RefundStatus.CANCELED}),
    RefundStatus.PENDING: frozenset({RefundStatus.SUCCEEDED, RefundStatus.CANCELED}),
}
_TABLES: dict[type[Model], dict[str, frozenset[str]]] = {
    CheckoutSession: SESSION_TRANSITIONS,
    Payment: PAYMENT_TRANSITIONS,
    Refund: REFUND_TRANSITIONS,
}


class IllegalTransition(Exception):
    """The transition table does not allow this move."""

    def __init__(self, obj: Model, current: str, target: str) -> None:
        super().__init__(f"{type(obj).__name__} {obj.pk}: {current} -> {target} is not allowed")
        self.current = current
        self.target = target


class ConcurrentTransition(Exception):
    """Someone else changed the status between our read and our write."""


# Renders an object as its API JSON, for the event's snapshot. Registered by `app.objects`.
Snapshotter = Callable[[Any], dict[str, Any]]
_snapshotters: dict[type[Model], Snapshotter] = {}

# Called inside the transaction after the event row is written (the webhook outbox).
EventListener = Callable[[Event, BaseDBAsyncClient], Awaitable[None]]
_event_listeners: list[EventListener] = []


def register_snapshotter(model: type[Model], snapshot: Snapshotter) -> None:
    _snapshotters[model] = snapshot


def add_event_listener(listener: EventListener) -> None:
    """Run `listener(event, connection)` in the same transaction as every new event."""
    if listener not in _event_listeners:
        _event_listeners.append(listener)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def can_transition(model: type[Model], current: str, target: str) -> bool:
    return target in _TABLES[model].get(current, frozenset())


async def transition(
    obj: CheckoutSession | Payment | Refund,
    target: str,
    event_type: EventType,
    *,
    changes: dict[str, Any] | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    connection: BaseDBAsyncClient | None = None,
    only_if: dict[str, Any] | None = None,
) -> Event:
    """Move `obj` to `target`, append `event_type`, all in one transaction.

    Conditional on the status we read (`WHERE status = current`) and on any `only_if`
    field values (e.g. "no transaction seen yet"): if another writer got there first,
    nothing is written and ConcurrentTransition is raised. `obj` is updated in memory on
    success.
    """
    model = type(obj)
    current = obj.status
    if not can_transition(model, current, target):
        raise IllegalTransition(obj, current, target)
    now = utcnow()
    values = {"status": target, "updated_at": now, **(changes or {})}

    async def write(conn: BaseDBAsyncClient) -> Event:
        updated = (
            await model.filter(pk=obj.pk, status=current, **(only_if or {}))
            .using_db(conn)
            .update(**values)
        )
        if updated != 1:
            raise ConcurrentTransition(f"{model.__name__} {obj.pk} is no longer {current}")
        for name, value in values.items():
            setattr(obj, name, value)
        return await _append_event(obj, event_type, now, request_id, idempotency_key, conn)

    if connection is not None:
        return await write(connection)
    async with in_transaction() as conn:
        return await write(conn)


async def record_event(
    obj: CheckoutSession | Payment | Refund,
    event_type: EventType,
    *,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    connection: BaseDBAsyncClient,
) -> Event:
    """Append an event about `obj` without a status change (e.g. `payment.created`).

    Must run inside the caller's transaction, next to the write the event describes.
    """
    return await _append_event(obj, event_type, utcnow(), request_id, idempotency_key, connection)


async def _event_data(
    obj: CheckoutSession | Payment | Refund, conn: BaseDBAsyncClient
) -> dict[str, Any]:
    """The documented event `data` (docs/webhooks.md), plus Stripe's `data.object`.

    `payment.*`: the payment and a summary of its session, read on the event's own connection
    so it is the session as this transaction sees it. `checkout.session.*`: the session.
    `refund.*`: the refund.
    """
    snapshot = _snapshotters[type(obj)](obj)
    if isinstance(obj, CheckoutSession):
        return {"object": snapshot, "checkout_session": snapshot}
    if isinstance(obj, Refund):
        return {"object": snapshot, "refund": snapshot}
    session_id = obj.session_id
    session = await CheckoutSession.filter(pk=session_id).using_db(conn).get()
    summary = {
        "id": session.id,
        "status": session.status,
        "metadata": dict(session.metadata),
        "client_reference_id": session.client_reference_id,
    }
    return {"object": snapshot, "payment": snapshot, "checkout_session": summary}


async def _append_event(
    obj: CheckoutSession | Payment | Refund,
    event_type: EventType,
    when: dt.datetime,
    request_id: str | None,
    idempotency_key: str | None,
    conn: BaseDBAsyncClient,
) -> Event:
    event = await append_event(
        merchant_id=obj.merchant_id,
        livemode=obj.livemode,
        event_type=event_type,
        object_id=obj.pk,
        data=await _event_data(obj, conn),
        when=when,
        request_id=request_id,
        idempotency_key=idempotency_key,
        connection=conn,
    )
    # Every session or payment event changes what its session's page shows: wake the status
    # streams watching it (in any process), once this transaction commits.
    if isinstance(obj, CheckoutSession):
        await notify(SESSION, obj.pk, conn)
    elif isinstance(obj, Payment):
        await notify(SESSION, obj.session_id, conn)
    return event


async def append_event(
    *,
    merchant_id: str,
    livemode: bool,
    event_type: EventType,
    object_id: str,
    data: dict[str, Any],
    connection: BaseDBAsyncClient,
    when: dt.datetime | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> Event:
    """Append an event and its webhook outbox rows inside the caller's transaction.

    The one place events are written; `transition()` and `record_event()` call it for
    sessions, payments and refunds, and account changes without a status (a payout address)
    call it with their own `data`.
    """
    event = await Event.create(
        id=new_id("evt"),
        merchant_id=merchant_id,
        livemode=livemode,
        type=event_type,
        object_id=object_id,
        data=data,
        request_id=request_id,
        idempotency_key=idempotency_key,
        created_at=when or utcnow(),
        using_db=connection,
    )
    for listener in _event_listeners:
        await listener(event, connection)
    return event
