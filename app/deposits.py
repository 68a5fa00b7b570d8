"""Deposit addresses: plain transfers from any wallet or exchange, credited truthfully.

On networks that have them (`app.networks.DepositNetwork`) every payment also has its own
deposit address. The watcher hands this module what the network reports — transfers of any
token into watched addresses, sweeps out of them, native balances — and this module decides:

- `amount_received` is what arrived in the payment's token at any depth (the shopper's page
  shows it at once); `amount_final` is what arrived at the payment's confirmation depth.
- final ≥ amount (less the merchant's tolerance) confirms the payment, late when its session
  had closed or the payment had expired (`payment.confirmed`, `late: true`); more than the
  amount is recorded as such (`payment.overpaid`); less is `payment.underpaid` and the
  payment stays pending; another token is `payment.unexpected_token`. Nothing is ever
  dropped: all final money is swept to the merchant.
- Native coin often arrives without a log, so its amount is the address's balance at a
  block plus what sweeps already took out up to that block.

The sweeper (`sweep_due`) asks the network to forward final money in batches and records
each payment's share of the gas.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app import observations
from app.models import ChainObservation, CheckoutSession, Event, Merchant, Payment
from app.networks import (
    Block,
    DepositNetwork,
    DepositSweep,
    FinalityPolicy,
    Network,
    Observation,
    ObservationKind,
    RpcError,
)
from app.states import (
    ConcurrentTransition,
    EventType,
    PaymentStatus,
    SessionStatus,
    record_event,
    transition,
    utcnow,
)

log = logging.getLogger("kassa.deposits")

# Closed payments' addresses stay watched this long: late money and top-ups still count.
WATCH_AFTER_CLOSE = dt.timedelta(days=7)
SWEEP_BATCH = 20
QUERY_CHUNK = 5_000
# How long a swept address waits before it may be swept again (the watcher sees the sweep
# long before; a sweep that was lost is retried after this).
SWEEP_COOLDOWN_SECONDS = 120.0

Notification = tuple[Payment, Event]


def has_deposits(network: Network) -> bool:
    return isinstance(network, DepositNetwork)


async def watched_payments(network_key: str) -> list[Payment]:
    """Payments whose deposit address the watcher follows: open ones, and closed ones for
    `WATCH_AFTER_CLOSE` (late money, top-ups, a sweep still due)."""
    recent = utcnow() - WATCH_AFTER_CLOSE
    return await Payment.filter(
        Q(status=PaymentStatus.PENDING) | Q(updated_at__gte=recent) | Q(sweep_due=True),
        network=network_key,
        deposit_address__not_isnull=True,
    )


async def record(
    network_key: str, entry: Observation, payments: dict[str, Payment]
) -> list[Notification]:
    """Store one transfer or sweep (idempotent); an unexpected token is reported once."""
    payment = payments.get(entry.reference)
    mismatch = ""
    if payment is None:
        mismatch = "no watched payment has this deposit address"
    elif entry.kind == ObservationKind.TRANSFER and entry.token != payment.token_address:
        mismatch = f"token {entry.token or 'native coin'} is not the payment's"
    _, created = await observations.store(
        network_key, entry, payment.id if payment is not None else None, mismatch
    )
    if not created or payment is None or not mismatch:
        return []
    log.warning(
        "%s: %s of token %s arrived at %s (payment %s): swept to the merchant, reported",
        network_key,
        entry.amount,
        entry.token,
        entry.reference,
        payment.id,
    )
    async with in_transaction() as conn:
        event = await record_event(payment, EventType.PAYMENT_UNEXPECTED_TOKEN, connection=conn)
    return [(payment, event)]


@dataclass
class Totals:
    """What one deposit address holds, from the canonical observations and balances."""

    seen: int = 0  # in the payment's token, any depth
    final: int = 0  # in the payment's token, at the confirmation depth
    # Final money not swept yet, by token ("" = native coin).
    unswept: dict[str, int] = field(default_factory=dict)
    last_transfer: ChainObservation | None = None  # the newest final one in the payment's token


def depth_block(
    payment: Payment, processed: int, policy: FinalityPolicy, finalized: Block | None
) -> int:
    """The newest block whose money counts as final for `payment`."""
    deepest = processed - max(1, payment.min_confirmations) + 1
    if policy.finalized_tag_only:
        deepest = processed
    if policy.require_finalized_tag:
        deepest = min(deepest, finalized.number if finalized is not None else -1)
    return deepest


async def totals(
    network: Network,
    payments: Sequence[Payment],
    processed: int,
    policy: FinalityPolicy,
    finalized: Block | None,
) -> dict[str, Totals]:
    """Seen and final amounts per payment id (native balances asked in one batch per block)."""
    assert isinstance(network, DepositNetwork)
    observations: list[ChainObservation] = []
    ids = [p.id for p in payments]
    # In chunks: PostgreSQL takes at most 32,767 parameters in one query.
    for start in range(0, len(ids), QUERY_CHUNK):
        observations += await ChainObservation.filter(
            network=network.key,
            payment_id__in=ids[start : start + QUERY_CHUNK],
            canonical=True,
            kind__in=[ObservationKind.TRANSFER.value, ObservationKind.SWEEP.value],
            block_number__lte=processed,
        ).order_by("block_number", "log_index")
    by_payment: dict[str, list[ChainObservation]] = defaultdict(list)
    for observation in observations:
        by_payment[observation.payment_id or ""].append(observation)
    depths = {p.id: depth_block(p, processed, policy, finalized) for p in payments}
    native = [p for p in payments if p.token_address is None]
    balances: dict[int, dict[str, int]] = {}
    for block in {processed, *(depths[p.id] for p in native if depths[p.id] >= 0)}:
        wanted = [p.deposit_address or "" for p in native if block in (processed, depths[p.id])]
        if wanted:
            balances[block] = await network.native_balances(wanted, block)
    result: dict[str, Totals] = {}
    for payment in payments:
        result[payment.id] = _totals_of(
            payment, by_payment[payment.id], depths[payment.id], processed, balances
        )
    return result


def _totals_of(
    payment: Payment,
    observations: list[ChainObservation],
    depth: int,
    processed: int,
    balances: dict[int, dict[str, int]],
) -> Totals:
    token = payment.token_address or ""
    found = Totals()
    arrived: dict[str, int] = defaultdict(int)
    swept: dict[str, int] = defaultdict(int)
    swept_native_by = {processed: 0, depth: 0}
    for observation in observations:
        final = observation.block_number <= depth
        if observation.kind == ObservationKind.SWEEP.value:
            if final:
                swept[observation.token] += observation.amount
            if observation.token == "":
                for block in swept_native_by:
                    if observation.block_number <= block:
                        swept_native_by[block] += observation.amount
            continue
        if observation.token == token:
            found.seen += observation.amount
            if final:
                found.final += observation.amount
                found.last_transfer = observation
        if final:
            arrived[observation.token] += observation.amount
    if payment.token_address is None and payment.deposit_address:
        address = payment.deposit_address
        found.seen = balances.get(processed, {}).get(address, 0) + swept_native_by[processed]
        held = balances.get(depth, {}).get(address, 0) if depth >= 0 else 0
        found.final = held + swept_native_by[depth] if depth >= 0 else 0
        if held:
            found.unswept[""] = held
    for unswept_token, amount in arrived.items():
        if amount > swept[unswept_token]:
            found.unswept[unswept_token] = amount - swept[unswept_token]
    return found


async def credit(
    network: Network,
    payments: Sequence[Payment],
    processed: int,
    policy: FinalityPolicy,
    finalized: Block | None,
    chain_time: int,
) -> tuple[list[Notification], list[str]]:
    """Bring every watched payment in line with what its address holds; returns the events
    to announce and the ids of payments this call confirmed. `chain_time` is the processed
    head's timestamp (deadlines are in chain time)."""
    if not payments:
        return [], []
    notifications: list[Notification] = []
    confirmed: list[str] = []
    found = await totals(network, payments, processed, policy, finalized)
    tolerance = await _tolerances(payments)
    for payment in payments:
        money = found[payment.id]
        events = await _apply(payment, money, tolerance[payment.id], chain_time)
        notifications.extend((payment, event) for event in events)
        if any(event.type == EventType.PAYMENT_CONFIRMED for event in events):
            confirmed.append(payment.id)
    return notifications, confirmed


async def _tolerances(payments: Sequence[Payment]) -> dict[str, int]:
    merchant_ids = {p.merchant_id for p in payments}  # type: ignore[attr-defined]
    merchants = {m.id: m for m in await Merchant.filter(id__in=list(merchant_ids))}
    return {
        p.id: merchants[p.merchant_id].underpayment_tolerance_bps  # type: ignore[attr-defined]
        for p in payments
    }


def due_after_tolerance(amount: int, tolerance_bps: int) -> int:
    """The least final amount that confirms: the amount less the merchant's tolerance."""
    return amount - amount * tolerance_bps // 10_000


async def _apply(
    payment: Payment, money: Totals, tolerance_bps: int, chain_time: int
) -> list[Event]:
    changes: dict[str, object] = {}
    if money.seen != payment.amount_received:
        changes["amount_received"] = money.seen
    if money.final != payment.amount_final:
        changes["amount_final"] = money.final
    in_flight = money.seen > money.final
    if in_flight != payment.transfer_in_flight:
        changes["transfer_in_flight"] = in_flight
    # The shopper sends the amount plus the gateway fee; the address splits what arrives.
    total = payment.amount_base_units + payment.fee_base_units
    due = due_after_tolerance(total, tolerance_bps)
    grew = money.final > payment.amount_final
    confirming = grew and money.final >= due and payment.status != PaymentStatus.CONFIRMED
    # Native money of a payment still open waits: once swept, the address holds a contract,
    # and a plain coin transfer with the bare 21,000 gas (as exchanges send) would fail.
    still_open = payment.status == PaymentStatus.PENDING and not confirming
    sweep_due = bool(money.unswept) and not (still_open and "" in money.unswept)
    if sweep_due != payment.sweep_due:
        changes["sweep_due"] = sweep_due
    if money.last_transfer is not None and payment.status != PaymentStatus.CONFIRMED:
        # The transfer that made the payment whole (or the latest): the reorg guard and the
        # page's explorer link use it.
        changes["block_number"] = money.last_transfer.block_number
        changes["block_hash"] = money.last_transfer.block_hash
        changes["payer"] = money.last_transfer.payer
    if not changes:
        return []
    first_seen = money.seen > 0 and payment.amount_received == 0
    # Seen money left the canonical chain (a reorg before it was final).
    vanished = money.seen < payment.amount_received
    events: list[Event] = []
    async with in_transaction() as conn:
        await Payment.filter(id=payment.id).using_db(conn).update(**changes, updated_at=utcnow())
        for name, value in changes.items():
            setattr(payment, name, value)
        if vanished and payment.status == PaymentStatus.PENDING:
            events.append(await record_event(payment, EventType.PAYMENT_REORGED, connection=conn))
        if first_seen and payment.status == PaymentStatus.PENDING:
            events.append(await record_event(payment, EventType.PAYMENT_PENDING, connection=conn))
        if confirming:
            events.extend(await _confirm(payment, conn, chain_time))
        elif grew and 0 < money.final < due and payment.status == PaymentStatus.PENDING:
            events.append(await record_event(payment, EventType.PAYMENT_UNDERPAID, connection=conn))
        if grew and money.final > total and payment.status == PaymentStatus.CONFIRMED:
            events.append(await record_event(payment, EventType.PAYMENT_OVERPAID, connection=conn))
    return events


async def _confirm(payment: Payment, conn: object, chain_time: int) -> list[Event]:
    """Confirm from final deposit money; late when the session had closed, or when the
    payment's window had passed (its quote no longer holds).

    An expired payment whose window is still open was replaced by another option of its
    session: money for it is on time, as a contract payment of it would be, and completes
    the session if that is still open.
    """
    session = await CheckoutSession.get(id=payment.session_id).using_db(conn)  # type: ignore[attr-defined,arg-type]
    window_passed = payment.status == PaymentStatus.EXPIRED and chain_time > payment.deadline
    late = window_passed or session.status != SessionStatus.OPEN
    try:
        events = [
            await transition(
                payment,
                PaymentStatus.CONFIRMED,
                EventType.PAYMENT_CONFIRMED,
                changes={
                    "confirmed_at": utcnow(),
                    "late": late,
                    "confirmations": payment.min_confirmations,
                },
                connection=conn,  # type: ignore[arg-type]
            )
        ]
    except ConcurrentTransition:
        return []
    if not late:
        events.append(
            await transition(
                session,
                SessionStatus.COMPLETED,
                EventType.CHECKOUT_SESSION_COMPLETED,
                changes={"payment_id": payment.id},
                connection=conn,  # type: ignore[arg-type]
            )
        )
    else:
        log.warning(
            "payment %s confirmed late (session %s is %s): the money is at the merchant",
            payment.id,
            session.id,
            session.status,
        )
    return events


# ----------------------------------------------------------------------------- sweeping


# Payments swept recently: id -> (when, the row's `updated_at` then). The watcher clears
# `sweep_due` only once it sees the sweep on chain; until then, or until a lost sweep may be
# retried, an unchanged row waits. New money (the row changes) may be swept at once.
_recently_swept: dict[str, tuple[float, dt.datetime]] = {}


def _waiting(payment: Payment, now: float) -> bool:
    swept = _recently_swept.get(payment.id)
    return (
        swept is not None
        and now - swept[0] < SWEEP_COOLDOWN_SECONDS
        and swept[1] == payment.updated_at
    )


async def sweep_due(network: Network) -> int:
    """Ask the network to sweep deposit addresses holding final money; returns how many it
    asked for. A batch the chain refuses is retried one deposit at a time, so one address
    holding a token that cannot move never keeps the others from being swept."""
    assert isinstance(network, DepositNetwork)
    now = time.monotonic()
    candidates = await Payment.filter(network=network.key, sweep_due=True).order_by("updated_at")
    due = [p for p in candidates if not _waiting(p, now)][:SWEEP_BATCH]
    if not due:
        return 0
    tokens = await _tokens_seen(network.key, [p.id for p in due])
    requests = [
        DepositSweep(
            payment_id=payment.id,
            deposit_address=payment.deposit_address or "",
            deposit_terms=dict(payment.deposit_terms or {}),
            tokens=tokens.get(payment.id, ()),
        )
        for payment in due
    ]
    for payment in due:
        _recently_swept[payment.id] = (now, payment.updated_at)
    try:
        reports = [await network.sweep(requests)]
    except RpcError as error:
        if len(requests) == 1:
            raise
        log.warning("%s: batch sweep failed (%s); sweeping one by one", network.key, error)
        reports = []
        for request in requests:
            try:
                reports.append(await network.sweep([request]))
            except RpcError as single:
                log.error("%s: sweep of %s failed: %s", network.key, request.payment_id, single)
    for report in reports:
        log.info(
            "%s: swept %d deposit addresses in %s",
            network.key,
            len(report.gas_by_payment),
            report.tx_id,
        )
        for payment_id, gas in report.gas_by_payment.items():
            payment = next(p for p in due if p.id == payment_id)
            payment.sweep_gas += gas
            await Payment.filter(id=payment_id).update(sweep_gas=payment.sweep_gas)
    return len(requests)


async def _tokens_seen(network_key: str, payment_ids: list[str]) -> dict[str, tuple[str, ...]]:
    rows = await ChainObservation.filter(
        network=network_key,
        payment_id__in=payment_ids,
        kind=ObservationKind.TRANSFER.value,
        canonical=True,
    ).values_list("payment_id", "token")
    tokens: dict[str, set[str]] = defaultdict(set)
    for payment_id, token in rows:
        if token:
            tokens[payment_id].add(token)
    return {payment_id: tuple(sorted(found)) for payment_id, found in tokens.items()}
