"""Push, not poll: wake-ups between processes (PostgreSQL `LISTEN/NOTIFY`) and within one.

Three channels, each carrying ids only (PostgreSQL caps a payload at 8,000 bytes):
- `kassa_outbox`: deliveries were owed (empty payload); delivery workers claim at once;
- `kassa_session`: a checkout session's status or payment changed (the session id); the
  status streams of every process read it again at once;
- `kassa_tx_hint`: a checkout reported a transaction (network, payment and transaction ids,
  tab-separated); the process running that network's watcher looks it up.

`notify()` sends inside the caller's transaction, so a notification exists exactly when the
change it announces committed (a rolled-back transaction notifies nobody). On PostgreSQL that
is `pg_notify`, which the server delivers on commit to every listening connection; on SQLite
(one process) the notification goes to this process's listener after the commit.

Each process has one `Listener` (`process_listener()`): on PostgreSQL one dedicated asyncpg
connection doing `LISTEN` (Tortoise's pooled connections cannot hold one), kept open with a
backoff across server restarts. Notifications sent while it was disconnected are lost, so
after every (re)connect each subscriber is called once with `None`: "anything may have
changed". Subscribers keep their periodic poll as the fallback; a notification only makes
them look sooner.

Handlers run in the listener's callback: they must only note the wake-up (set an event,
start a task), never wait or touch the database there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from app.db import dialect_of
from app.models import Event

log = logging.getLogger("kassa.notify")

OUTBOX = "kassa_outbox"
SESSION = "kassa_session"
TX_HINT = "kassa_tx_hint"
CHANNELS = (OUTBOX, SESSION, TX_HINT)

# PostgreSQL refuses longer payloads (8,000 bytes by default).
MAX_PAYLOAD_BYTES = 7999
# How long `start()` waits for the first connection before serving without it (the
# subscribers' polls cover the gap; the listener keeps trying in the background).
FIRST_CONNECT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 10.0
RECONNECT_MIN_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0
# A connection whose peer vanished without closing it (a network partition) sends no
# notification and no error: a query every this many seconds finds out.
HEALTH_CHECK_SECONDS = 15.0

# Called with the payload, or with None after a (re)connect: anything may have changed.
Handler = Callable[[str | None], None]


class Listener:
    """One process's notifications: subscribers per channel and, on PostgreSQL, the one
    connection that LISTENs for them."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {channel: [] for channel in CHANNELS}
        self._database_url: str | None = None
        self._users = 0
        self._keeper: asyncio.Task[None] | None = None
        self._connection: Any = None  # asyncpg.Connection while connected
        self._connected: asyncio.Event | None = None
        self.connects = 0  # how many times it connected (tests watch reconnects)

    # -- subscribers

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        """Call `handler` for each notification on `channel`; returns the unsubscribe."""
        handlers = self._handlers[channel]
        handlers.append(handler)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                handlers.remove(handler)

        return unsubscribe

    def subscribers(self, channel: str) -> int:
        return len(self._handlers[channel])

    def dispatch(self, channel: str, payload: str | None) -> None:
        """Fan a notification out to this process's subscribers of `channel`."""
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(payload)
            except Exception:  # one subscriber's bug must not starve the others
                log.exception("notification handler for %s failed", channel)

    def wake_everyone(self) -> None:
        for channel in CHANNELS:
            self.dispatch(channel, None)

    # -- the PostgreSQL connection

    @property
    def listening(self) -> bool:
        """Whether notifications from other processes arrive now (PostgreSQL, connected)."""
        return self._connection is not None and not self._connection.is_closed()

    @property
    def backend_pid(self) -> int | None:
        """The listening connection's server process (tests terminate it)."""
        return int(self._connection.get_server_pid()) if self.listening else None

    async def start(self, database_url: str) -> None:
        """Listen on PostgreSQL (nothing to do on SQLite: notifications stay in-process).

        Several users (apps, workers) in one process share the listener; each `start()`
        needs its `stop()`. Waits briefly for the first connection, never fails: a
        database that is down now is retried in the background.
        """
        self._users += 1
        if dialect_of(database_url) != "postgres":
            return
        if self._keeper is not None and self._database_url != database_url:
            log.warning("the notification listener moves to another database")
            await self._stop_keeper()
        self._database_url = database_url
        if self._keeper is None:
            self._connected = asyncio.Event()
            self._keeper = asyncio.create_task(
                self._keep_listening(database_url), name="notification-listener"
            )
        assert self._connected is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), FIRST_CONNECT_SECONDS)

    async def stop(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self._stop_keeper()

    async def _stop_keeper(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        self._database_url = None

    async def _keep_listening(self, database_url: str) -> None:
        import asyncpg

        backoff = RECONNECT_MIN_SECONDS
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(
                    asyncpg_dsn(database_url), timeout=CONNECT_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError, asyncpg.PostgresError) as error:
                log.warning(
                    "notification listener cannot connect (%s); again in %.1fs", error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
                continue
            try:
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                for channel in CHANNELS:
                    await connection.add_listener(channel, self._received)
                self._connection = connection
                self.connects += 1
                backoff = RECONNECT_MIN_SECONDS
                if self.connects > 1:
                    log.info("notification listener reconnected")
                # Whatever was notified while nobody listened is lost: everyone looks again.
                self.wake_everyone()
                assert self._connected is not None
                self._connected.set()
                await self._until_lost(connection, lost)
            except Exception as error:  # whatever broke, reconnect: never stop listening
                log.warning("notification listener lost its connection: %s", error)
            finally:
                self._connection = None
                if self._connected is not None:
                    self._connected.clear()
                with contextlib.suppress(Exception):
                    connection.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)

    async def _until_lost(self, connection: Any, lost: asyncio.Event) -> None:
        """Return when the connection closes or stops answering."""
        while not connection.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), HEALTH_CHECK_SECONDS)
            if lost.is_set() or connection.is_closed():
                return
            await connection.fetchval("SELECT 1", timeout=HEALTH_CHECK_SECONDS / 3)

    def _received(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self.dispatch(channel, payload)


_process_listener = Listener()


def process_listener() -> Listener:
    """This process's listener: what `kassa serve` and `kassa worker` start and subscribe to."""
    return _process_listener


def reaches_other_processes() -> bool:
    """Whether `notify()` reaches other processes (PostgreSQL) or only this one (SQLite)."""
    return bool(Event._meta.db.capabilities.dialect == "postgres")


def asyncpg_dsn(database_url: str) -> str:
    """The URL as asyncpg spells it (Kassa also accepts `asyncpg://` and `psycopg://`)."""
    scheme, sep, rest = database_url.partition("://")
    return (
        f"postgresql://{rest}" if sep and scheme.lower() in {"asyncpg", "psycopg"} else database_url
    )


async def notify(
    channel: str, payload: str = "", connection: BaseDBAsyncClient | None = None
) -> None:
    """Notify every process's subscribers of `channel`, once `connection`'s transaction
    commits (at once outside a transaction). `payload`: ids only, under 8,000 bytes."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown notification channel {channel!r}")
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a {channel} payload must stay under 8,000 bytes")
    # Any model's connection: every table lives in the one database.
    client = connection if connection is not None else Event._meta.db
    if client.capabilities.dialect == "postgres":
        await client.execute_query("SELECT pg_notify($1, $2)", [channel, payload])
        return
    transaction = _outermost_transaction(client)
    if transaction is None:
        _process_listener.dispatch(channel, payload)
    else:
        _after_commit(transaction, channel, payload)


def _outermost_transaction(client: BaseDBAsyncClient) -> TransactionalDBClient | None:
    """The transaction whose commit makes `client`'s writes visible (None: autocommit)."""
    if not isinstance(client, TransactionalDBClient):
        return None
    parent = getattr(client, "_parent", None)
    while isinstance(parent, TransactionalDBClient):
        client, parent = parent, getattr(parent, "_parent", None)
    return client


_PENDING = "_kassa_pending_notifications"


def _after_commit(transaction: TransactionalDBClient, channel: str, payload: str) -> None:
    """SQLite: hold the notification until the transaction commits (dropped on rollback).
    Tortoise has no on-commit hook, so this transaction's `commit` is wrapped, once."""
    pending: list[tuple[str, str]] | None = getattr(transaction, _PENDING, None)
    if pending is None:
        pending = []
        setattr(transaction, _PENDING, pending)
        commit = transaction.commit

        async def commit_then_notify() -> None:
            await commit()
            for item in dict.fromkeys(pending):  # like PostgreSQL: duplicates fold into one
                _process_listener.dispatch(*item)

        setattr(transaction, "commit", commit_then_notify)  # noqa: B010 - an instance's method
    pending.append((channel, payload))
