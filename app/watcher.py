"""The chain watcher: one scanning loop per enabled network (architecture §8).

Each `poll_once()`:
1. checks that the stored cursor block is still canonical; on a mismatch it walks back
   through the stored recent hashes to the common ancestor, marks observations in orphaned
   blocks non-canonical and puts their payments back (`payment.reorged`). A reorg that
   reaches past the stored window, or removes a confirmed payment, halts the network's
   watcher with a reason an operator sees (log + `GET /v1/networks`) — nothing is guessed;
2. asks the network for its payments (`observe`) in bounded chunks up to the head, records
   each as an idempotent `ChainObservation`, and attaches matching transactions
   (`payment.pending`); an observation credits its payment only when every term the core
   decided (session, token, amount, recipient, fee) is exactly what was prepared;
3. confirms payments deep enough under the network's policy whose block is unchanged
   (`payment.confirmed`, `checkout.session.completed`);
4. expires payments whose deadline the processed head's timestamp passed with no log
   (`payment.expired`);
5. marks refunds the merchant paid from their own wallet `succeeded` (`app.refunds`).
The network only answers questions; this module owns cursor, reorgs and retries.

A checkout's transaction hint (`send_tx_hint`) makes the watcher look that transaction up
at once, so "transaction seen" does not wait for the next poll; the poll stays the truth. On
PostgreSQL the hint travels as a `kassa_tx_hint` notification to whichever process runs the
network's watcher (`accept_tx_hints`), so a web process needs no watcher of its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app import deposits, observations, refunds
from app.models import ChainCursor, ChainObservation, CheckoutSession, Event, Payment
from app.networks import (
    Block,
    FinalityPolicy,
    Network,
    NetworkNotice,
    NoticeNetwork,
    Observation,
    ObservationKind,
    Registry,
    RpcError,
    current_registry,
)
from app.notify import SESSION, TX_HINT, Listener, notify, process_listener, reaches_other_processes
from app.plugins import notify_payment_status_changed
from app.states import (
    ConcurrentTransition,
    EventType,
    PaymentStatus,
    SessionStatus,
    record_event,
    transition,
    utcnow,
)

if TYPE_CHECKING:
    from app.loops import BackgroundLoops

log = logging.getLogger("kassa.watcher")

_HEADER_CONCURRENCY = 16
_CHUNK_ATTEMPTS = 4
# A hinted transaction is looked up at once, then again while it is not in a block yet.
HINT_RETRY_SECONDS = 0.5
HINT_FOLLOW_SECONDS = 60.0
# On a chain that mines no blocks while idle, an unpaid payment expires once the node's
# chain time is this far past its deadline (a margin for clocks).
IDLE_EXPIRY_MARGIN_SECONDS = 30
# Payments whose contract transaction the watcher attaches and follows to finality: pending
# ones, and expired ones (a switch of option replaced them, but the shopper had already
# paid them within their deadline).
FOLLOWED_STATUSES = (PaymentStatus.PENDING, PaymentStatus.EXPIRED)
# Notices (`NoticeNetwork`) kept per network, and how long they show as warnings.
KEPT_WARNINGS = 20
WARNINGS_SHOWN_FOR = dt.timedelta(days=7)


class RetryLater(Exception):
    """Answers did not line up (failover, lagging node, reorg in flight): poll again."""


@dataclass
class PollResult:
    """What one poll did (tests and the benchmark read it)."""

    scanned_to: int | None = None
    logs: int = 0
    attached: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    reorged: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)  # refunds whose transfer is final
    halted: bool = False
    retry: bool = False


def _recent(entries: Sequence[Sequence[Any]]) -> list[tuple[int, str, int]]:
    return [(int(e[0]), str(e[1]), int(e[2]) if len(e) > 2 else 0) for e in entries]


class ChainWatcher:
    """Scans one network; `poll_once()` is the whole single step."""

    def __init__(self, network: Network, registry: Registry | None = None) -> None:
        self.network = network
        self.registry = registry or current_registry()
        self.window = self.registry.settings.watcher_reorg_window
        self.config = self.registry.settings.networks.get(network.key)
        self.finality = finality_policy(network, self.registry)
        self._pending_notifications: list[tuple[Payment, Event]] = []
        # Payments whose deposit addresses this poll watches, by address.
        self._deposits: dict[str, Payment] = {}

    # ---------------------------------------------------------------- cursor

    async def _cursor(self) -> ChainCursor:
        cursor = await ChainCursor.get_or_none(network=self.network.key)
        if cursor is not None:
            return cursor
        head = await self.network.head()
        start = head.number
        configured = self.config.start_block if self.config is not None else None
        if configured is not None:
            start = min(start, configured)
        oldest = (
            await Payment.filter(network=self.network.key, status=PaymentStatus.PENDING)
            .exclude(created_block=None)
            .order_by("created_block")
            .first()
        )
        if oldest is not None and oldest.created_block is not None:
            start = min(start, oldest.created_block)
        # Start with the window's hashes, so even the first reorg finds its ancestor.
        blocks = await self._headers(max(0, start - self.window + 1), start)
        block = blocks[-1]
        try:
            return await ChainCursor.create(
                network=self.network.key,
                block_number=block.number,
                block_hash=block.hash,
                block_timestamp=block.timestamp,
                recent_hashes=[[b.number, b.hash, b.timestamp] for b in blocks],
            )
        except IntegrityError:  # another process created it first
            return await ChainCursor.get(network=self.network.key)

    async def _halt(self, cursor: ChainCursor, reason: str) -> None:
        log.critical("watcher for %s halted: %s", self.network.key, reason)
        cursor.halted = True
        cursor.halt_reason = reason
        await cursor.save(update_fields=["halted", "halt_reason", "updated_at"])

    # ---------------------------------------------------------------- poll

    async def poll_once(self) -> PollResult:
        """One step: canonical check, scan to the head, confirmations, expiry."""
        result = PollResult()
        try:
            await self._poll(result)
        except RetryLater as reason:
            log.info("%s: poll retried later: %s", self.network.key, reason)
            result.retry = True
        finally:
            await self.flush_notifications()
        return result

    async def flush_notifications(self) -> None:
        """Tell plugins about the events this watcher committed (after the commit)."""
        notifications, self._pending_notifications = self._pending_notifications, []
        for payment, event in notifications:
            await notify_payment_status_changed(self.registry.pm, payment, event)

    async def _poll(self, result: PollResult) -> None:
        cursor = await self._cursor()
        if cursor.halted:
            result.halted = True
            return
        head = await self.network.head()
        if head.number < cursor.block_number:
            raise RetryLater(f"node head {head.number} is behind cursor {cursor.block_number}")
        if not await self._check_canonical(cursor, result):
            return
        if deposits.has_deposits(self.network):
            watched = await deposits.watched_payments(self.network.key)
            self._deposits = {p.deposit_address or "": p for p in watched}
        await self._scan(cursor, head.number, result)
        await self._confirm(cursor, head, result)
        await self._credit_deposits(cursor, result)
        await self._expire(cursor, head, result)
        # Refunds the merchant paid from their own wallet (networks that can tell). Nothing
        # there may hold up payments: a node that cannot answer, or a plugin's bug, is logged
        # and tried again next round.
        try:
            scan = await refunds.recognise_refunds(self.network, cursor.block_number, self.finality)
        except RpcError as error:
            log.warning("%s: refunds not checked this round: %s", self.network.key, error)
        except Exception:
            log.exception("%s: refunds not checked this round (plugin error)", self.network.key)
        else:
            result.refunded += scan.succeeded

    # ---------------------------------------------------------------- reorgs

    async def _check_canonical(self, cursor: ChainCursor, result: PollResult) -> bool:
        block = await self.network.block(cursor.block_number)
        if block is None:
            raise RetryLater(f"node does not have cursor block {cursor.block_number}")
        if block.hash == cursor.block_hash:
            return True
        ancestor = await self._common_ancestor(cursor)
        if ancestor is None:
            await self._halt(
                cursor,
                f"reorg deeper than the {len(cursor.recent_hashes)} recent blocks kept "
                f"(cursor {cursor.block_number} {cursor.block_hash} is no longer canonical); "
                "check the node, then reset the cursor",
            )
            result.halted = True
            return False
        return await self._rewind(cursor, ancestor, result)

    async def _common_ancestor(self, cursor: ChainCursor) -> tuple[int, str, int] | None:
        for number, stored_hash, timestamp in reversed(_recent(cursor.recent_hashes)):
            if number >= cursor.block_number:
                continue
            block = await self.network.block(number)
            if block is None:
                raise RetryLater(f"node does not have block {number}")
            if block.hash == stored_hash:
                return number, stored_hash, timestamp
        return None

    async def _rewind(
        self, cursor: ChainCursor, ancestor: tuple[int, str, int], result: PollResult
    ) -> bool:
        number, block_hash, timestamp = ancestor
        orphaned = await ChainObservation.filter(
            network=self.network.key, block_number__gt=number, canonical=True
        )
        credited = [o for o in orphaned if o.payment_id and not o.mismatch]
        payments = {p.id: p for p in await Payment.filter(id__in=[o.payment_id for o in credited])}
        for observation in credited:
            payment = payments.get(observation.payment_id or "")
            if (
                payment is not None
                and payment.status == PaymentStatus.CONFIRMED
                and payment.block_hash == observation.block_hash
            ):
                await self._halt(
                    cursor,
                    f"reorg below block {number + 1} removed the block of confirmed payment "
                    f"{payment.id} (tx {observation.tx_hash}); nothing was reverted — "
                    "investigate before resuming",
                )
                result.halted = True
                return False
        log.warning(
            "%s: reorg, rewinding from %d to common ancestor %d",
            self.network.key,
            cursor.block_number,
            number,
        )
        async with in_transaction() as conn:
            await (
                ChainObservation.filter(id__in=[o.id for o in orphaned])
                .using_db(conn)
                .update(canonical=False)
            )
            for observation in credited:
                payment = payments.get(observation.payment_id or "")
                if payment is None or payment.status not in FOLLOWED_STATUSES:
                    continue
                if payment.block_hash != observation.block_hash:
                    continue
                if await self._clear_tx(payment, conn):
                    result.reorged.append(payment.id)
            # Blocks searched for refunds after the ancestor are searched again.
            await refunds.rewind(self.network.key, number, conn)
            cursor.block_number = number
            cursor.block_hash = block_hash
            cursor.block_timestamp = timestamp
            cursor.recent_hashes = [
                list(e) for e in _recent(cursor.recent_hashes) if e[0] <= number
            ]
            await cursor.save(using_db=conn)
        return True

    async def _clear_tx(self, payment: Payment, conn: Any) -> bool:
        """Forget a seen transaction that left the canonical chain (`payment.reorged`); the
        payment keeps its status: pending again waits for money, expired stays expired."""
        cleared = {
            "tx_hash": None,
            "block_number": None,
            "block_hash": None,
            "log_index": None,
            "payer": None,
            "confirmations": 0,
        }
        updated = (
            await Payment.filter(
                id=payment.id, status=payment.status, block_hash=payment.block_hash
            )
            .using_db(conn)
            .update(**cleared, updated_at=utcnow())
        )
        if updated != 1:
            return False
        for name, value in cleared.items():
            setattr(payment, name, value)
        event = await record_event(payment, EventType.PAYMENT_REORGED, connection=conn)
        self._pending_notifications.append((payment, event))
        return True

    # ---------------------------------------------------------------- scanning

    async def _headers(self, first: int, last: int) -> list[Block]:
        if first > last:
            return []
        gate = asyncio.Semaphore(_HEADER_CONCURRENCY)

        async def fetch(number: int) -> Block | None:
            async with gate:
                return await self.network.block(number)

        blocks = await asyncio.gather(*(fetch(n) for n in range(first, last + 1)))
        if any(b is None for b in blocks):
            raise RetryLater(f"node is missing blocks in {first}-{last}")
        return [b for b in blocks if b is not None]

    async def _scan(self, cursor: ChainCursor, target: int, result: PollResult) -> None:
        start = cursor.block_number + 1
        while start <= target:
            end = min(target, start + max(1, self.network.max_scan_range) - 1)
            logs, notices, headers = await self._fetch_chunk(cursor, start, end, target)
            remember_notices(self.network.key, cursor, notices)
            for entry in logs:
                if entry.kind == ObservationKind.INTENT:
                    await self._record(entry, result)
                else:
                    self._pending_notifications += await deposits.record(
                        self.network.key, entry, self._deposits
                    )
            result.logs += len(logs)
            recent = _recent(cursor.recent_hashes) + [
                (b.number, b.hash, b.timestamp) for b in headers
            ]
            keep = {n: (n, h, t) for n, h, t in recent if n > end - self.window}
            cursor.recent_hashes = [list(keep[n]) for n in sorted(keep)]
            cursor.block_number = end
            cursor.block_hash = headers[-1].hash
            cursor.block_timestamp = headers[-1].timestamp
            await cursor.save()
            result.scanned_to = end
            start = end + 1

    async def _fetch_chunk(
        self, cursor: ChainCursor, start: int, end: int, target: int
    ) -> tuple[list[Observation], list[NetworkNotice], list[Block]]:
        """Observations, notices and headers of [start, end] that provably come from one
        node's one chain.

        Answers spanning a failover (another node may lag or sit on another fork) are
        thrown away and fetched again, a few times, before the poll gives up.
        """
        reason = ""
        for _ in range(_CHUNK_ATTEMPTS):
            generation = self.network.rpc_generation()
            try:
                notices: list[NetworkNotice] = []
                if isinstance(self.network, NoticeNetwork):
                    logs, notices = await self.network.observe_with_notices(start, end)
                else:
                    logs = await self.network.observe(start, end)
                if self._deposits:
                    logs += await self.network.observe_deposits(  # type: ignore[attr-defined]
                        start, end, sorted(self._deposits)
                    )
                # Hashes of the blocks near the head feed the reorg walk-back; deeper
                # blocks only need the chunk's last header for the cursor.
                headers = await self._headers(max(start, target - self.window + 1), end)
                if not headers or headers[-1].number != end:
                    last = await self.network.block(end)
                    if last is None:
                        raise RetryLater(f"node does not have block {end}")
                    headers.append(last)
            except RetryLater as error:
                reason = str(error)
                continue
            if self.network.rpc_generation() != generation:
                reason = "RPC failover during the chunk"
                continue
            self._check_chain(cursor, headers)
            by_number = {b.number: b.hash for b in headers}
            positioned: list[Observation | NetworkNotice] = [*logs, *notices]
            for entry in positioned:
                known = by_number.get(entry.block_number)
                if known is not None and known != entry.block_hash:
                    raise RetryLater(f"log in block {entry.block_number} from another fork")
            return logs, notices, headers
        raise RetryLater(reason)

    def _check_chain(self, cursor: ChainCursor, headers: list[Block]) -> None:
        """Consecutive headers must link, and the first new block must sit on the cursor."""
        previous: Block | None = None
        for block in headers:
            if previous is not None and block.number == previous.number + 1:
                if block.parent_hash != previous.hash:
                    raise RetryLater(f"blocks {previous.number}/{block.number} do not link")
            if block.number == cursor.block_number + 1 and block.parent_hash != cursor.block_hash:
                raise RetryLater("the chain moved under the cursor (reorg in flight)")
            previous = block

    # ---------------------------------------------------------------- observations

    async def _record(self, entry: Observation, result: PollResult) -> None:
        payment = await Payment.get_or_none(payment_ref=entry.reference, network=self.network.key)
        if payment is None:
            mismatch = "no payment with this reference on this network"
        else:
            mismatch = mismatch_reason(entry, payment)
        if mismatch:
            log.error(
                "%s: payment in tx %s/%d not credited: %s",
                self.network.key,
                entry.tx_id,
                entry.position,
                mismatch,
            )
        await observations.store(
            self.network.key, entry, payment.id if payment is not None else None, mismatch
        )
        if payment is None or mismatch:
            return
        if payment.status not in FOLLOWED_STATUSES or payment.tx_hash is not None:
            return
        if payment.status == PaymentStatus.EXPIRED:
            # Replaced by a switch of option before its transaction was seen: the contract
            # took the money within the payment's deadline, so it is the merchant's. Followed
            # to finality like a pending payment, it keeps its status until `_complete`
            # confirms it (expired -> confirmed); nothing paid is hidden.
            log.warning(
                "%s: expired payment %s was paid (tx %s); following it to finality",
                self.network.key,
                payment.id,
                entry.tx_id,
            )
        changes = {
            "tx_hash": entry.tx_id,
            "block_number": entry.block_number,
            "block_hash": entry.block_hash,
            "log_index": entry.position,
            "payer": entry.payer,
            "confirmations": 0,
        }
        async with in_transaction() as conn:
            updated = (
                await Payment.filter(id=payment.id, status=payment.status, tx_hash=None)
                .using_db(conn)
                .update(**changes, updated_at=utcnow())
            )
            if updated != 1:
                return
            for name, value in changes.items():
                setattr(payment, name, value)
            event = await record_event(payment, EventType.PAYMENT_PENDING, connection=conn)
        self._pending_notifications.append((payment, event))
        result.attached.append(payment.id)

    # ---------------------------------------------------------------- confirmations

    async def _confirm(self, cursor: ChainCursor, head: Block, result: PollResult) -> None:
        seen = await Payment.filter(
            network=self.network.key, status__in=FOLLOWED_STATUSES, tx_hash__not_isnull=True
        ).order_by("block_number")
        if not seen:
            return
        policy = self.finality
        finalized: Block | None = None
        if policy.require_finalized_tag:
            finalized = await self.network.finalized_head()
        processed = cursor.block_number
        for payment in seen:
            assert payment.block_number is not None
            depth = processed - payment.block_number + 1
            if depth != payment.confirmations:
                await Payment.filter(id=payment.id, tx_hash=payment.tx_hash).update(
                    confirmations=depth
                )
                payment.confirmations = depth
                # No event for a count, but the page shows it: wake its streams.
                await notify(SESSION, payment.session_id)  # type: ignore[attr-defined]
            deep_enough = policy.finalized_tag_only or depth >= payment.min_confirmations
            if policy.require_finalized_tag:
                deep_enough = deep_enough and (
                    finalized is not None and payment.block_number <= finalized.number
                )
            if not deep_enough:
                continue
            block = await self.network.block(payment.block_number)
            if block is None:
                raise RetryLater(f"node does not have block {payment.block_number}")
            if block.hash != payment.block_hash:
                # A reorg below the cursor that the cursor check has not seen yet (it raced
                # this poll): take the payment back and rescan from before its block.
                async with in_transaction() as conn:
                    await (
                        ChainObservation.filter(
                            network=self.network.key, block_hash=payment.block_hash
                        )
                        .using_db(conn)
                        .update(canonical=False)
                    )
                    if await self._clear_tx(payment, conn):
                        result.reorged.append(payment.id)
                    rewind = await self.network.block(max(0, block.number - 1))
                    if rewind is not None and rewind.number < cursor.block_number:
                        cursor.block_number = rewind.number
                        cursor.block_hash = rewind.hash
                        cursor.block_timestamp = rewind.timestamp
                        cursor.recent_hashes = [
                            list(e) for e in _recent(cursor.recent_hashes) if e[0] < rewind.number
                        ] + [[rewind.number, rewind.hash, rewind.timestamp]]
                        await cursor.save(using_db=conn)
                return
            await self._complete(payment, result)

    async def _complete(self, payment: Payment, result: PollResult) -> None:
        events: list[Event] = []
        try:
            async with in_transaction() as conn:
                session = await CheckoutSession.get(id=payment.session_id).using_db(conn)  # type: ignore[attr-defined]
                # Late: its session closed before the money was final (expired, canceled, or
                # completed by another payment). The money is at the merchant all the same.
                # A payment replaced by a switch of option (expired) but paid within its
                # deadline is not late while its session is open: the shopper paid on the
                # terms they signed, so it completes the session (which then points at it).
                late = session.status != SessionStatus.OPEN
                events.append(
                    await transition(
                        payment,
                        PaymentStatus.CONFIRMED,
                        EventType.PAYMENT_CONFIRMED,
                        changes={
                            "confirmed_at": utcnow(),
                            "confirmations": payment.confirmations,
                            "late": late,
                        },
                        connection=conn,
                    )
                )
                if not late:
                    await transition(
                        session,
                        SessionStatus.COMPLETED,
                        EventType.CHECKOUT_SESSION_COMPLETED,
                        changes={"payment_id": payment.id},
                        connection=conn,
                    )
                else:
                    # Paid twice (another chain, or after cancel/expiry): recorded and
                    # reported through payment.confirmed so the merchant can refund.
                    log.warning(
                        "payment %s confirmed for session %s which is already %s",
                        payment.id,
                        session.id,
                        session.status,
                    )
        except ConcurrentTransition:
            return
        for event in events:
            self._pending_notifications.append((payment, event))
        result.confirmed.append(payment.id)

    # ---------------------------------------------------------------- expiry

    async def _credit_deposits(self, cursor: ChainCursor, result: PollResult) -> None:
        if not self._deposits:
            return
        finalized = None
        if self.finality.require_finalized_tag:
            finalized = await self.network.finalized_head()
        notifications, confirmed = await deposits.credit(
            self.network,
            list(self._deposits.values()),
            cursor.block_number,
            self.finality,
            finalized,
            cursor.block_timestamp,
        )
        self._pending_notifications += notifications
        result.confirmed += confirmed

    async def _expire(self, cursor: ChainCursor, head: Block, result: PollResult) -> None:
        """Expire unpaid payments whose deadline the chain's time passed.

        Payments up to the processed head were recorded first, so one mined before the
        deadline is always attached before this runs. Chain time is the processed head's
        timestamp; on an idle chain (the cursor at the head), the node's `chain_time()` too.
        """
        unpaid = Payment.filter(
            network=self.network.key,
            status=PaymentStatus.PENDING,
            tx_hash=None,
            transfer_in_flight=False,
        )
        chain_time = cursor.block_timestamp
        if cursor.block_number >= head.number:
            waiting = await unpaid.filter(deadline__lt=int(utcnow().timestamp())).exists()
            if waiting:
                chain_time = max(
                    chain_time, await self.network.chain_time() - IDLE_EXPIRY_MARGIN_SECONDS
                )
        for payment in await unpaid.filter(deadline__lt=chain_time):
            try:
                event = await transition(payment, PaymentStatus.EXPIRED, EventType.PAYMENT_EXPIRED)
            except ConcurrentTransition:
                continue
            self._pending_notifications.append((payment, event))
            result.expired.append(payment.id)


def remember_notices(
    network_key: str, cursor: ChainCursor, notices: Sequence[NetworkNotice]
) -> None:
    """Alert the operator to each new notice (CRITICAL log) and keep the latest on the cursor
    for `GET /v1/networks` and `kassa networks list`; saved with the cursor. A block scanned
    again after a reorg does not repeat a notice."""
    known = {(w["tx_id"], w["position"]) for w in cursor.warnings}
    for notice in notices:
        if (notice.tx_id, notice.position) in known:
            continue
        known.add((notice.tx_id, notice.position))
        log.critical(
            "%s: %s (tx %s, block %d)",
            network_key,
            notice.message,
            notice.tx_id,
            notice.block_number,
        )
        warning = {
            "message": notice.message,
            "tx_id": notice.tx_id,
            "position": notice.position,
            "block_number": notice.block_number,
            "seen_at": int(utcnow().timestamp()),
        }
        cursor.warnings = [*cursor.warnings, warning][-KEPT_WARNINGS:]


def recent_warnings(cursor: ChainCursor | None) -> list[dict[str, Any]]:
    """The cursor's notices from the last `WARNINGS_SHOWN_FOR`, oldest first."""
    if cursor is None:
        return []
    since = (utcnow() - WARNINGS_SHOWN_FOR).timestamp()
    return [w for w in cursor.warnings if w["seen_at"] >= since]


def mismatch_reason(entry: Observation, payment: Payment) -> str:
    """Why `entry` does not pay `payment` ("" when it does): every term is compared exactly,
    as the network spelt it when it prepared the payment."""
    if entry.session_reference != payment.session_ref:
        return "session reference differs from the prepared payment's"
    if entry.token != payment.token_address:
        return f"token {entry.token} differs from the prepared payment's {payment.token_address}"
    if entry.amount != payment.amount_base_units:
        return f"amount {entry.amount} differs from the prepared {payment.amount_base_units}"
    if entry.recipient != payment.recipient:
        return f"recipient {entry.recipient} differs from the prepared {payment.recipient}"
    if entry.fee != payment.fee_base_units:
        return f"fee {entry.fee} differs from the prepared {payment.fee_base_units}"
    return ""


def finality_policy(network: Network, registry: Registry) -> FinalityPolicy:
    """The network's policy, with the operator's `finality` setting applied when given."""
    config = registry.settings.networks.get(network.key)
    mode = config.finality if config is not None else None
    if mode is None:
        return network.finality
    return FinalityPolicy(
        network.finality.confirmations,
        require_finalized_tag=mode in ("finalized", "both"),
        finalized_tag_only=mode == "finalized",
    )


def poll_interval(network: Network, registry: Registry) -> float:
    """The operator's `poll_interval_seconds`, else the network's default."""
    config = registry.settings.networks.get(network.key)
    configured = config.poll_interval_seconds if config is not None else None
    return configured or network.poll_interval


# -------------------------------------------------------------------- hints


async def look_up_hint(watcher: ChainWatcher, tx_id: str) -> PollResult:
    """Record the payments of one transaction now, if it is in a block (idempotent: the
    poll records the same observations again when it reaches that block)."""
    result = PollResult()
    observations = await watcher.network.observe_transaction(tx_id)
    try:
        for entry in observations:
            await watcher._record(entry, result)
    finally:
        await watcher.flush_notifications()
    result.logs = len(observations)
    return result


_followed_hints: dict[tuple[str, str], asyncio.Task[None]] = {}


def follow_tx_hint(network: Network, payment_id: str, tx_id: str) -> None:
    """Look `tx_id` up in the background until it is in a block (bounded in time).

    One follower per (network, transaction); a hint is optional, so failures are logged and
    never reach the shopper.
    """
    key = (network.key, tx_id)
    if key in _followed_hints:
        return

    async def follow() -> None:
        watcher = ChainWatcher(network)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HINT_FOLLOW_SECONDS
        try:
            while loop.time() < deadline:
                try:
                    if (await look_up_hint(watcher, tx_id)).logs:
                        return
                except RpcError as error:
                    log.info("%s: hint %s for %s: %s", network.key, tx_id, payment_id, error)
                await asyncio.sleep(HINT_RETRY_SECONDS)
        except Exception:
            log.exception("%s: hint %s for %s failed", network.key, tx_id, payment_id)
        finally:
            _followed_hints.pop(key, None)

    _followed_hints[key] = asyncio.get_running_loop().create_task(
        follow(), name=f"hint-{network.key}-{payment_id}"
    )


async def send_tx_hint(network: Network, payment_id: str, tx_id: str) -> None:
    """Hand a checkout's hint to the watcher of `network`, in whichever process runs it.

    PostgreSQL: a `kassa_tx_hint` notification; the process holding the network's watcher
    lock follows it (if none runs, the hint is dropped: the watcher's poll finds the
    transaction anyway). SQLite: this process follows it, as one process serves SQLite.
    """
    if reaches_other_processes():
        await notify(TX_HINT, "\t".join((network.key, payment_id, tx_id)))
    else:
        follow_tx_hint(network, payment_id, tx_id)


def accept_tx_hints(network: Network, listener: Listener | None = None) -> Callable[[], None]:
    """Follow the hints for `network` any process sends (`send_tx_hint`), from now until the
    returned unsubscribe is called: what the process running the network's watcher does."""

    def received(payload: str | None) -> None:
        if payload is None:
            return  # after a reconnect: hints sent meanwhile are lost; the poll covers them
        key, _, rest = payload.partition("\t")
        payment_id, _, tx_id = rest.partition("\t")
        if key == network.key and tx_id:
            follow_tx_hint(network, payment_id, tx_id)  # starts a task: no waiting here

    return (listener or process_listener()).subscribe(TX_HINT, received)


# -------------------------------------------------------------------- running


def advisory_lock_key(network_key: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock`, one per network."""
    digest = hashlib.blake2b(f"kassa.watcher:{network_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class NetworkLock:
    """One active watcher per network across processes: a PostgreSQL session advisory lock
    held on a dedicated connection (SQLite runs in one process, so it always succeeds)."""

    def __init__(self, database_url: str, network_key: str) -> None:
        self.database_url = database_url
        self.key = advisory_lock_key(network_key)
        self._connection: Any = None
        self._locked = False

    @property
    def postgres(self) -> bool:
        return not self.database_url.startswith("sqlite")

    async def acquire(self) -> bool:
        if not self.postgres:
            return True
        import asyncpg

        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(self.database_url, timeout=10)
        self._locked = bool(
            await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", self.key)
        )
        return self._locked

    def held(self) -> bool:
        """Still ours: a dropped connection means PostgreSQL released the lock."""
        return not self.postgres or (
            self._locked and self._connection is not None and not self._connection.is_closed()
        )

    async def release(self) -> None:
        if self._connection is not None:
            try:
                await self._connection.close()  # closing the session frees its locks
            finally:
                self._connection = None
                self._locked = False


async def run_watcher(network: Network, registry: Registry, database_url: str) -> None:
    """Poll `network` forever while holding its lock; failures back off, never stop it."""
    lock = NetworkLock(database_url, network.key)
    watcher = ChainWatcher(network, registry)
    interval = poll_interval(network, registry)
    backoff = interval
    # Set while this process holds the lock: then it follows every process's hints.
    stop_hints: Callable[[], None] | None = None
    try:
        while True:
            try:
                if not lock.held() and not await lock.acquire():
                    if stop_hints is not None:
                        stop_hints()
                        stop_hints = None
                    await asyncio.sleep(max(5.0, interval))
                    continue
                if stop_hints is None:
                    stop_hints = accept_tx_hints(network)
                result = await watcher.poll_once()
                backoff = interval
                if result.halted:
                    await asyncio.sleep(max(30.0, interval))
                    continue
            except asyncio.CancelledError:
                raise
            except RpcError as error:
                log.warning("%s: %s; retrying in %.1fs", network.key, error, backoff)
                backoff = min(backoff * 2, 60.0)
            except Exception:
                log.exception("%s: watcher poll failed; retrying in %.1fs", network.key, backoff)
                backoff = min(backoff * 2, 60.0)
            await asyncio.sleep(backoff)
    finally:
        if stop_hints is not None:
            stop_hints()
        await lock.release()


def start_watchers(loops: BackgroundLoops, database_url: str) -> None:
    """One watcher task per enabled network (inside `kassa serve` and `kassa worker`)."""
    registry = current_registry()
    for network in registry.networks.values():
        loops.tasks.append(
            asyncio.create_task(
                run_watcher(network, registry, database_url), name=f"watcher-{network.key}"
            )
        )
