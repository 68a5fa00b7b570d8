"""Which background loops run: session expiry, watchers, webhook delivery, housekeeping.

Wiring only: the loops' work lives in the services they call, their runner in `app.loops`.
"""

from __future__ import annotations

import logging

from app.api.idempotency import prune_idempotency_records
from app.config import Settings
from app.db import close_database, open_database
from app.deposits import SWEEP_BATCH, has_deposits, sweep_due
from app.loops import BackgroundLoops, stop_on_signals
from app.networks import Network, current_registry
from app.notify import process_listener
from app.plugins import start_registry
from app.ratelimit import prune_rate_limits
from app.secretbox import SecretKeyMissing
from app.sessions import EXPIRY_BATCH, expire_due_sessions
from app.watcher import start_watchers
from app.webhooks.outbox import prune_events
from app.webhooks.signing import secret_box
from app.webhooks.worker import DeliveryWorker

log = logging.getLogger("kassa.workers")

# Sweeps wait for final money anyway; batching a few seconds of it saves gas.
SWEEP_INTERVAL_SECONDS = 5.0


def start_background_loops(settings: Settings) -> BackgroundLoops:
    loops = BackgroundLoops()

    async def expiry_step() -> None:
        while await expire_due_sessions() == EXPIRY_BATCH:
            pass

    async def housekeeping_step() -> None:
        await prune_idempotency_records(settings.idempotency_retention_hours)
        await prune_rate_limits()

    loops.start("session-expiry", settings.expiry_interval_seconds, expiry_step)
    start_watchers(loops, settings.database_url)
    start_sweepers(loops)
    start_webhook_loops(loops, settings)
    loops.start("housekeeping", 3600.0, housekeeping_step)
    return loops


def start_sweepers(loops: BackgroundLoops) -> None:
    """One sweeper per network with deposit addresses: final money goes to the merchants."""
    registry = current_registry()
    for network in registry.networks.values():
        if not has_deposits(network):
            continue

        async def sweep_step(network: Network = network) -> None:
            while await sweep_due(network) == SWEEP_BATCH:
                pass

        loops.start(
            f"sweeper-{network.key}", max(SWEEP_INTERVAL_SECONDS, network.poll_interval), sweep_step
        )


def start_webhook_loops(loops: BackgroundLoops, settings: Settings) -> None:
    """Webhook delivery (runs until cancelled; restarted if it fails) and events pruning."""

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
    registry = start_registry(settings)
    await open_database(settings.database_url)
    await process_listener().start(settings.database_url)  # push wake-ups (app/notify.py)
    loops = start_background_loops(settings)
    stop = stop_on_signals()
    try:
        await stop.wait()
    finally:
        await loops.stop()
        await process_listener().stop()
        await registry.close()
        await close_database()
