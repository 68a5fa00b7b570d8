"""`kassa doctor`: is this installation usable? One check per concern; each says what it found
and, when it fails, how to fix it.

The core knows no chain: each network answers for itself (`Network.health()`), and the core
adds what it owns — the database and its migrations, the secret key, each network's watcher,
the webhook workers. `kassa networks list` and `GET /v1/networks` show the same per-network
checks (`network_health`); the API keeps them briefly (`HealthCache`) so that listing networks
never waits on a slow node more than once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterable
from dataclasses import asdict
from typing import Any

from app.config import Settings
from app.db import (
    DatabaseUnreachable,
    close_database,
    dialect_of,
    migration_files,
    open_checked,
    sqlite_file,
)
from app.models import ChainCursor, Heartbeat, Payment, WebhookEndpoint
from app.networks import HealthCheck, Network, PluginError, Registry, build_registry
from app.secretbox import SecretKeyMissing, SecretUnreadable
from app.states import PaymentStatus, utcnow
from app.watcher import poll_interval
from app.webhooks.signing import active_secrets, secret_box
from app.webhooks.worker import HEARTBEAT, HEARTBEAT_SECONDS, due_deliveries

# How long a network's checks may take: the operator's command can wait for a slow node,
# an API request should not.
CLI_SECONDS = 30.0
API_SECONDS = 3.0
API_CACHE_SECONDS = 30.0
# A watcher whose cursor is this much chain time behind the head is not keeping up (or ten
# poll intervals, on networks that poll slowly). Catching up after downtime also shows here.
WATCHER_LAG_SECONDS = 120.0
# Delivery workers beat every HEARTBEAT_SECONDS; six missed beats mean none is running.
HEARTBEAT_STALE_SECONDS = 6 * HEARTBEAT_SECONDS

RUN_LOOPS = "run `kassa worker`, or `kassa serve` with background loops on"
# What API callers read about a halt: the operator's reason may name another merchant's
# payment and transaction, so it stays in the logs, the doctor and `kassa networks list`.
HALTED_FOR_API = (
    "the watcher is halted: payments on this network are not confirmed until the operator "
    "investigates and resumes it"
)


def as_json(checks: Iterable[HealthCheck]) -> list[dict[str, Any]]:
    return [asdict(check) for check in checks]


# ------------------------------------------------------------------------ the core's checks


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist (connecting would create an
    empty one, and the doctor only looks)."""
    path = sqlite_file(url)
    return None if path is None or path.is_file() else str(path)


async def open_database_check(settings: Settings) -> HealthCheck:
    """Connect and ask one query; the database stays open when this passes."""
    url = settings.database_url
    missing = _missing_sqlite_file(url)
    if missing is not None:
        return HealthCheck(
            "database", False, f"no SQLite file at {missing}: check KASSA_DATABASE_URL"
        )
    try:
        await open_checked(url)
    except DatabaseUnreachable as error:
        return HealthCheck(
            "database",
            False,
            f"{error}: check KASSA_DATABASE_URL and that the database server runs",
        )
    kind = "PostgreSQL" if dialect_of(url) == "postgres" else "SQLite"
    return HealthCheck("database", True, f"{kind} answers")


async def migrations_check(settings: Settings) -> HealthCheck:
    """Every shipped migration applied, and none the installation does not know."""
    from aerich.models import Aerich

    shipped = migration_files(settings.database_url)
    if not shipped:
        return HealthCheck(
            "migrations", False, "this installation ships no migrations: reinstall Kassa"
        )
    try:
        rows = await Aerich.filter(app="models").values_list("version", flat=True)
        applied = {str(version) for version in rows}
    except Exception as error:  # no aerich table: never migrated
        return HealthCheck(
            "migrations",
            False,
            f"cannot read the applied migrations ({type(error).__name__}): run `kassa migrate`",
        )
    pending = [name for name in shipped if name not in applied]
    unknown = sorted(applied - set(shipped))
    if pending:
        return HealthCheck(
            "migrations",
            False,
            f"{len(pending)} of {len(shipped)} not applied ({', '.join(pending)}): "
            "run `kassa migrate` (before starting the new version)",
        )
    if unknown:
        return HealthCheck(
            "migrations",
            False,
            f"the database has migrations this version does not ship ({', '.join(unknown)}): "
            "a newer Kassa migrated it; run that version, or restore a backup",
        )
    return HealthCheck("migrations", True, f"all {len(shipped)} applied (last {shipped[-1]})")


async def secret_key_check(settings: Settings, database_open: bool) -> HealthCheck:
    """Set, long enough, and (when the database is readable) the key the stored webhook
    secrets were sealed with."""
    try:
        box = secret_box(settings)
    except SecretKeyMissing as error:
        return HealthCheck("secret key", False, str(error))
    endpoint = await WebhookEndpoint.first() if database_open else None
    if endpoint is None:
        return HealthCheck("secret key", True, "set (webhook secrets and CSRF tokens use it)")
    try:
        active_secrets(box, endpoint, utcnow())
    except SecretUnreadable:
        return HealthCheck(
            "secret key",
            False,
            "KASSA_SECRET_KEY does not open the stored webhook secrets (was it changed?): "
            "restore the key they were sealed with",
        )
    return HealthCheck("secret key", True, "set, and it opens the stored webhook secrets")


async def watcher_check(
    network: Network, registry: Registry, seconds: float, operator: bool = True
) -> HealthCheck:
    """How far the network's watcher is behind the head, in chain time (block times differ
    per chain); a halted watcher fails with its reason (`HALTED_FOR_API` unless `operator`)."""
    cursor = await ChainCursor.get_or_none(network=network.key)
    if cursor is None:
        waiting = await Payment.filter(network=network.key, status=PaymentStatus.PENDING).count()
        if waiting:
            return HealthCheck(
                "watcher",
                False,
                f"{waiting} payments wait but no watcher has scanned this network: {RUN_LOOPS}",
            )
        return HealthCheck(
            "watcher", True, "not started yet (`kassa serve` or `kassa worker` starts it)"
        )
    if cursor.halted and not operator:
        return HealthCheck("watcher", False, HALTED_FOR_API)
    if cursor.halted:
        return HealthCheck(
            "watcher",
            False,
            f"halted: {cursor.halt_reason}. Investigate (docs/operations.md, Reorgs and halts), "
            f"then `kassa networks resume {network.key}`",
        )
    try:
        async with asyncio.timeout(seconds):
            head = await network.head()
    except Exception as error:
        return HealthCheck(
            "watcher",
            False,
            f"at block {cursor.block_number}; the head is unknown ({type(error).__name__}): "
            "the network's nodes do not answer",
        )
    blocks = max(0, head.number - cursor.block_number)
    # Rows from before block times were stored have 0: judged by blocks alone then.
    behind = max(0, head.timestamp - cursor.block_timestamp) if cursor.block_timestamp else 0
    allowed = max(WATCHER_LAG_SECONDS, 10 * poll_interval(network, registry))
    where = f"at block {cursor.block_number}, {blocks} blocks ({behind} s) behind the head"
    if behind > allowed:
        return HealthCheck(
            "watcher",
            False,
            f"{where}, more than {allowed:g} s: {RUN_LOOPS}; its log says why it lags "
            "(a node failing, or catching up after downtime)",
        )
    return HealthCheck("watcher", True, where)


async def own_checks(network: Network, seconds: float) -> list[HealthCheck]:
    """`network.health()` within `seconds`; a plugin that raises or hangs fails one check."""
    try:
        async with asyncio.timeout(seconds):
            return list(await network.health())
    except TimeoutError:
        return [
            HealthCheck(
                "health",
                False,
                f"the network's checks did not finish within {seconds:g} s: "
                "are its nodes slow or unreachable?",
            )
        ]
    except Exception as error:  # a plugin bug; its message could quote a node URL
        return [
            HealthCheck("health", False, f"the network's checks failed: {type(error).__name__}")
        ]


async def network_health(
    network: Network, registry: Registry, seconds: float, operator: bool = True
) -> list[HealthCheck]:
    """The network's own checks and its watcher's, each side given at most `seconds`; not
    for the `operator`, a halt's reason is withheld (`HALTED_FOR_API`)."""
    checks, watcher = await asyncio.gather(
        own_checks(network, seconds),
        guarded("watcher", watcher_check(network, registry, seconds, operator)),
    )
    return [*checks, watcher]


async def webhook_workers_check() -> HealthCheck:
    """Some delivery worker beat recently, or nothing is due: deliveries that are due while
    no worker runs are owed to merchants and nobody sends them."""
    now = utcnow()
    beat = await Heartbeat.get_or_none(name=HEARTBEAT)
    due = await due_deliveries(now).count()
    age = None if beat is None else (now - beat.beat_at).total_seconds()
    last = "never" if beat is None else f"{age:.0f} s ago by {beat.process}"
    if age is not None and age <= HEARTBEAT_STALE_SECONDS:
        return HealthCheck("webhook workers", True, f"last beat {last}; {due} deliveries due")
    if not due:
        return HealthCheck(
            "webhook workers",
            True,
            f"no worker beat in the last {HEARTBEAT_STALE_SECONDS:g} s (last {last}), "
            "and no delivery is due",
        )
    return HealthCheck(
        "webhook workers",
        False,
        f"{due} deliveries are due and no worker beat in the last "
        f"{HEARTBEAT_STALE_SECONDS:g} s (last {last}): {RUN_LOOPS}, with KASSA_SECRET_KEY set",
    )


# ------------------------------------------------------------------------ the whole run


async def guarded(name: str, check: Awaitable[HealthCheck]) -> HealthCheck:
    """`check`, failed rather than raised when the database cannot answer it (e.g. a table
    that a pending migration creates)."""
    try:
        return await check
    except Exception as error:
        return HealthCheck(name, False, f"could not check ({type(error).__name__}: {error})")


NO_DATABASE = "not checked: the database does not answer"


async def run_checks(settings: Settings) -> list[HealthCheck]:
    """Every check, in the order an operator fixes them: database, secret, networks, workers."""
    database = await open_database_check(settings)
    try:
        return [database, *await checks_after_database(settings, database.ok)]
    finally:
        if database.ok:
            await close_database()


async def checks_after_database(
    settings: Settings, database_open: bool, extra_plugins: Iterable[object] = ()
) -> list[HealthCheck]:
    """The checks after the database's own, on the database opened (or not) before."""
    from app.plugins import make_plugin_manager

    checks = [
        await migrations_check(settings)
        if database_open
        else HealthCheck("migrations", False, NO_DATABASE),
        await guarded("secret key", secret_key_check(settings, database_open)),
    ]
    try:
        # Built, not installed: the doctor leaves the process's registry alone.
        registry = build_registry(settings, make_plugin_manager(settings, extra_plugins))
    except PluginError as error:
        checks.append(HealthCheck("networks", False, f"{error}: fix that setting"))
    else:
        try:
            checks += await _network_checks(registry, database_open)
        finally:
            await registry.close()
    checks.append(
        await guarded("webhook workers", webhook_workers_check())
        if database_open
        else HealthCheck("webhook workers", False, NO_DATABASE)
    )
    return checks


async def _network_checks(registry: Registry, database_open: bool) -> list[HealthCheck]:
    networks = list(registry.networks.values())
    if not networks:
        return [
            HealthCheck(
                "networks",
                False,
                "none enabled: shoppers cannot pay; enable one with a [networks.KEY] block",
            )
        ]
    summary = HealthCheck("networks", True, f"enabled: {', '.join(n.key for n in networks)}")

    async def checks_of(network: Network) -> list[HealthCheck]:
        if database_open:
            return await network_health(network, registry, CLI_SECONDS)
        # The watcher's cursor is in the database.
        return [*await own_checks(network, CLI_SECONDS), HealthCheck("watcher", False, NO_DATABASE)]

    answers = await asyncio.gather(*(checks_of(n) for n in networks))
    return [summary] + [
        HealthCheck(f"{network.key}: {check.name}", check.ok, check.detail)
        for network, checks in zip(networks, answers, strict=True)
        for check in checks
    ]


class HealthCache:
    """Each network's checks for the API (a halt's reason withheld), computed at most every
    `max_age` seconds within `seconds`; concurrent requests share one computation."""

    def __init__(self, max_age: float = API_CACHE_SECONDS, seconds: float = API_SECONDS) -> None:
        self.max_age = max_age
        self.seconds = seconds
        self._entries: dict[str, tuple[Network, float, asyncio.Task[list[HealthCheck]]]] = {}

    async def checks(self, network: Network, registry: Registry) -> list[HealthCheck]:
        entry = self._entries.get(network.key)
        now = time.monotonic()
        if (
            entry is None
            or entry[0] is not network  # another registry (tests swap them)
            or now - entry[1] > self.max_age
            or entry[2].get_loop() is not asyncio.get_running_loop()
        ):
            task = asyncio.ensure_future(
                network_health(network, registry, self.seconds, operator=False)
            )
            entry = (network, now, task)
            self._entries[network.key] = entry
        # Shielded: a client that disconnects does not cancel what others wait for.
        return await asyncio.shield(entry[2])
