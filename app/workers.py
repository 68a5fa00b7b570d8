"""Background loops: session expiry and housekeeping (watchers and deliveries join later)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.api.idempotency import prune_idempotency_records
from app.config import Settings
from app.db import close_database, open_database
from app.models import CheckoutSession, Payment
from app.states import ConcurrentTransition, PaymentStatus, SessionStatus, transition, utcnow
from app.webhooks import DeliveryWorker, prune_events, secret_box

log = logging.getLogger("kassa.workers")

EXPIRY_BATCH = 200


async def expire_due_sessions() -> int:
    """Expire open sessions past `expires_at`; returns how many this call expired."""
    # Not while a transaction is seen but not yet final: it may still complete. Excluded in
    # the query, so a batch full of such sessions never holds back the others.
    in_flight = await Payment.filter(
        status=PaymentStatus.PENDING, tx_hash__not_isnull=True
    ).values_list("session_id", flat=True)
    due = (
        await CheckoutSession.filter(status=SessionStatus.OPEN, expires_at__lte=utcnow())
        .exclude(id__in=list(in_flight))
        .order_by("expires_at")
        .limit(EXPIRY_BATCH)
    )
    expired = 0
    for session in due:
        if await payment_in_flight(session.id):
            continue  # a transaction appeared since the query
        try:
            await transition(session, SessionStatus.EXPIRED, "checkout.session.expired")
            expired += 1
        except ConcurrentTransition:
            continue  # completed, canceled or expired by someone else meanwhile
    return expired


async def payment_in_flight(session_id: str) -> bool:
    """A payment of the session has a transaction on chain that is not final yet."""
    return await Payment.filter(
        session_id=session_id, status=PaymentStatus.PENDING, tx_hash__not_isnull=True
    ).exists()


async def run_periodically(
    name: str, interval: float, step: Callable[[], Awaitable[object]]
) -> None:
    """Run `step` every `interval` seconds forever; a failing step is logged, never fatal."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop %s failed; retrying in %.1fs", name, interval)
        await asyncio.sleep(interval)


@dataclass
class BackgroundLoops:
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, name: str, interval: float, step: Callable[[], Awaitable[object]]) -> None:
        self.tasks.append(asyncio.create_task(run_periodically(name, interval, step), name=name))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()


def start_background_loops(settings: Settings) -> BackgroundLoops:
    loops = BackgroundLoops()

    async def expiry_step() -> None:
        while await expire_due_sessions() == EXPIRY_BATCH:
            pass

    async def housekeeping_step() -> None:
        await prune_idempotency_records(settings.idempotency_retention_hours)

    loops.start("session-expiry", settings.expiry_interval_seconds, expiry_step)
    from app.watcher import start_watchers

    start_watchers(loops, settings.database_url)
    start_webhook_loops(loops, settings)
    loops.start("housekeeping", 3600.0, housekeeping_step)
    return loops


def start_webhook_loops(loops: BackgroundLoops, settings: Settings) -> None:
    """Webhook delivery (runs until cancelled; restarted if it fails) and events pruning."""
    from app.secretbox import SecretKeyMissing

    async def delivery_step() -> None:
        await DeliveryWorker(settings).run()

    async def prune_step() -> None:
        await prune_events(settings.events_retention_days)

    try:
        secret_box(settings)
    except SecretKeyMissing as error:
        # Without the key no endpoint secret can be read: say so loudly, keep the rest running.
        log.error("webhook delivery is not running: %s", error)
    else:
        loops.start("webhook-delivery", 1.0, delivery_step)
    loops.start("events-pruning", 3600.0, prune_step)


async def run_worker(settings: Settings) -> None:
    """`kassa worker`: the background loops alone, until cancelled (Ctrl-C / SIGTERM)."""
    from app.plugins import start_registry

    registry = start_registry(settings)
    await open_database(settings.database_url)
    loops = start_background_loops(settings)
    from app.server import stop_on_signals  # app.server imports the app, which imports us

    stop = stop_on_signals()
    try:
        await stop.wait()
    finally:
        await loops.stop()
        await registry.close()
        await close_database()
