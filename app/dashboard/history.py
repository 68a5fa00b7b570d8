"""What happened to a session or payment: events, chain transactions and webhook deliveries.

The session and payment pages show one history: the events of the object, of its payments
and of their refunds; what the networks saw on chain for those payments (with explorer links
from the network plugin, when that network is enabled); and every webhook delivery of those
events with its attempts. Everything is read for one merchant and one mode, and bounded: a
page never loads an unbounded number of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.dashboard.formatting import crypto, token_amount
from app.models import ChainObservation, Event, Payment, Refund, WebhookAttempt, WebhookDelivery
from app.networks import ObservationKind, Registry
from app.states import WebhookEndpointStatus

# Bounds per page: far above what one session ever produces (a handful of events, a few
# attempts each), low enough that a pathological object cannot make the page slow.
MAX_EVENTS = 200
MAX_OBSERVATIONS = 100
MAX_ATTEMPTS = 1000


@dataclass(frozen=True, slots=True)
class ChainTransaction:
    """One transaction a network saw for a payment."""

    payment_id: str
    kind: str  # "intent" (contract payment), "transfer" (to a deposit address), "sweep"
    tx_hash: str
    block_number: int | None
    canonical: bool
    amount: str  # "12.5 USDC", or base units when it was another token
    explorer_url: str  # "" when the network is disabled or has no explorer
    mismatch: str
    seen_at: dt.datetime | None


@dataclass(slots=True)
class Delivery:
    """One event owed to one webhook endpoint, with its attempts (oldest first)."""

    row: WebhookDelivery
    event_type: str
    endpoint_url: str
    endpoint_enabled: bool
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def response_codes(self) -> list[str]:
        return [
            str(a.status_code) if a.status_code is not None else (a.error or "no answer")
            for a in self.attempts
        ]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the merged timeline, oldest first."""

    at: dt.datetime
    kind: str  # "event", "chain" or "webhook"
    title: str
    object_id: str = ""
    detail: str = ""
    link: str = ""


@dataclass(slots=True)
class History:
    timeline: list[TimelineEntry]
    transactions: list[ChainTransaction]
    deliveries: list[Delivery]
    events_truncated: bool


def explorer_link(registry: Registry | None, network_key: str, tx_hash: str | None) -> str:
    """The network plugin's explorer link for `tx_hash`, or "" (network disabled, no explorer)."""
    if not tx_hash or registry is None:
        return ""
    network = registry.network(network_key)
    return network.explorer_tx_url(tx_hash) if network is not None else ""


def network_name(registry: Registry | None, network_key: str) -> str:
    network = registry.network(network_key) if registry is not None else None
    return network.name if network is not None else f"{network_key} (not enabled)"


def _observed_amount(observation: ChainObservation, payment: Payment) -> str:
    token = observation.token or None
    same_token = (token or "").lower() == (payment.token_address or "").lower()
    if same_token:
        return token_amount(observation.amount, payment)
    return f"{observation.amount} base units of {token or 'the native coin'}"


async def load_history(
    *,
    merchant_id: str,
    livemode: bool,
    object_ids: list[str],
    payments: list[Payment],
    registry: Registry | None,
) -> History:
    """The history of `object_ids` (a session and/or payments) and of the payments' refunds."""
    payment_ids = [p.id for p in payments]
    refund_ids = (
        await Refund.filter(
            merchant_id=merchant_id, livemode=livemode, payment_id__in=payment_ids
        ).values_list("id", flat=True)
        if payment_ids
        else []
    )
    ids = list(dict.fromkeys([*object_ids, *payment_ids, *(str(r) for r in refund_ids)]))
    events = (
        await Event.filter(merchant_id=merchant_id, livemode=livemode, object_id__in=ids)
        .order_by("created_at", "id")
        .limit(MAX_EVENTS + 1)
    )
    truncated = len(events) > MAX_EVENTS
    events = events[:MAX_EVENTS]
    types = {e.id: e.type for e in events}

    deliveries: list[Delivery] = []
    if events:
        rows = (
            await WebhookDelivery.filter(event_id__in=list(types))
            .select_related("endpoint")
            .order_by("created_at", "id")
        )
        by_id = {}
        for row in rows:
            delivery = Delivery(
                row=row,
                event_type=types[row.event_id],  # type: ignore[attr-defined]
                endpoint_url=row.endpoint.url,
                endpoint_enabled=row.endpoint.status == WebhookEndpointStatus.ENABLED,
            )
            by_id[row.id] = delivery
            deliveries.append(delivery)
        if by_id:
            attempts = (
                await WebhookAttempt.filter(delivery_id__in=list(by_id))
                .order_by("started_at", "number")
                .limit(MAX_ATTEMPTS)
            )
            for attempt in attempts:
                by_id[attempt.delivery_id].attempts.append(  # type: ignore[attr-defined]
                    attempt
                )

    transactions = await _chain_transactions(payments, registry)

    timeline = [
        TimelineEntry(at=e.created_at, kind="event", title=e.type, object_id=e.object_id)
        for e in events
    ]
    timeline += [
        TimelineEntry(
            at=tx.seen_at,
            kind="chain",
            title=f"{tx.kind.capitalize()} transaction seen in block {tx.block_number}"
            + ("" if tx.canonical else " (no longer on the chain: reorganised)"),
            object_id=tx.payment_id,
            detail=f"{tx.tx_hash} · {tx.amount}" + (f" · {tx.mismatch}" if tx.mismatch else ""),
            link=tx.explorer_url,
        )
        for tx in transactions
        if tx.seen_at is not None
    ]
    timeline += [
        TimelineEntry(
            at=attempt.started_at,
            kind="webhook",
            title=f"Webhook {delivery.event_type} attempt {attempt.number}",
            object_id=delivery.row.id,
            detail=f"{delivery.endpoint_url} answered "
            + (str(attempt.status_code) if attempt.status_code is not None else "nothing")
            + (f" ({attempt.error})" if attempt.error else ""),
        )
        for delivery in deliveries
        for attempt in delivery.attempts
    ]
    timeline.sort(key=lambda entry: entry.at)
    return History(timeline, transactions, deliveries, truncated)


async def _chain_transactions(
    payments: list[Payment], registry: Registry | None
) -> list[ChainTransaction]:
    """What the networks saw for these payments; a payment's tx hash with no observation
    stored (e.g. a checkout hint) is listed too, unconfirmed."""
    if not payments:
        return []
    by_id = {p.id: p for p in payments}
    observations = (
        await ChainObservation.filter(payment_id__in=list(by_id))
        .order_by("block_number", "log_index")
        .limit(MAX_OBSERVATIONS)
    )
    found = [
        ChainTransaction(
            payment_id=str(o.payment_id),
            kind=o.kind,
            tx_hash=o.tx_hash,
            block_number=o.block_number,
            canonical=o.canonical,
            amount=_observed_amount(o, by_id[str(o.payment_id)]),
            explorer_url=explorer_link(registry, o.network, o.tx_hash),
            mismatch=o.mismatch,
            seen_at=o.created_at,
        )
        for o in observations
    ]
    seen = {(tx.payment_id, tx.tx_hash.lower()) for tx in found}
    for payment in payments:
        if payment.tx_hash and (payment.id, payment.tx_hash.lower()) not in seen:
            found.append(
                ChainTransaction(
                    payment_id=payment.id,
                    kind=ObservationKind.INTENT,
                    tx_hash=payment.tx_hash,
                    block_number=payment.block_number,
                    canonical=True,
                    amount=crypto(payment),
                    explorer_url=explorer_link(registry, payment.network, payment.tx_hash),
                    mismatch="",
                    seen_at=None,
                )
            )
    return found
