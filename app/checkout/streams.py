"""Live status streams (server-sent events): capped, and one status poll for all of them.

A stream costs a connection and a task, so streams are capped per session and per client
address, in this process: the caps bound what one process holds, and each process serving
the checkout applies them to its own streams. However many streams are open, one task per
process reads the status of every watched session once per `poll_seconds` (in batches: two
queries for up to `READ_BATCH` sessions) and fans each change out to that session's streams:
1,500 open pages of one session cost one read per second, not 1,500, and 1,000 pages over
200 sessions cost two queries per second, not 2,000.

Each stream shows the status in its page's language: a change is rendered once per language
among the session's streams (a shopper's page and a merchant's preview in another language
each get their own), and a stream joining in a language not yet rendered gets it on the next
read.

Push, not poll (app/notify.py): a committed change of a session notifies `kassa_session`
with its id, in every process; the poller then reads that session at once instead of at its
next round. The rounds stay as the fallback (SQLite across processes, changes that write no
event such as a confirmation count, notifications lost while the listener reconnected).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from app.notify import SESSION, Listener

log = logging.getLogger("kassa.checkout")

CLOSE_EVENT = b"event: close\ndata: final\n\n"
READ_BATCH = 1000  # sessions per read; PostgreSQL takes at most 32,767 parameters


@dataclass(frozen=True, slots=True)
class StatusReading:
    """One read of a session's status, as the streams show it."""

    key: Hashable  # equal keys render the same event: nothing is sent
    final: bool
    # The `status` event in a locale, rendered only on a change (once per locale watching).
    render: Callable[[str], Awaitable[bytes]]


# Reads the statuses of some sessions (at most READ_BATCH); a session missing from the answer
# is gone.
ReadStatuses = Callable[[list[str]], Awaitable[dict[str, StatusReading]]]


@dataclass(eq=False)
class _Feed:
    """One watched session: its last status and the queues of its streams."""

    session_id: str
    # Each stream's queue and the locale it shows the status in.
    listeners: dict[asyncio.Queue[bytes | None], str] = field(default_factory=dict)
    read: bool = False  # whether the poller has read it since a stream joined
    key: Hashable = None
    # The latest status event per locale, for streams that join later.
    events: dict[str, bytes] = field(default_factory=dict)

    def publish(self, item: bytes | None, locale: str | None = None) -> None:
        """To every stream, or to the streams in `locale`."""
        for queue, wanted in self.listeners.items():
            if locale is None or wanted == locale:
                queue.put_nowait(item)

    def unrendered_locales(self) -> list[str]:
        return sorted(set(self.listeners.values()) - self.events.keys())


class Subscription:
    """One open stream: its queue (`None` ends it) and its place under the caps."""

    def __init__(self, hub: StatusStreams, feed: _Feed, client: str, locale: str) -> None:
        self._hub = hub
        self._feed = feed
        self._client = client
        self.locale = locale
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._open = True

    def close(self) -> None:
        """Leave the feed and free the slots; safe to call more than once."""
        if self._open:
            self._open = False
            self._hub._release(self._feed, self, self._client)


class StatusStreams:
    """This process's streams: slot counts per session and per client, the feeds, the poller."""

    def __init__(
        self, read: ReadStatuses, poll_seconds: float, listener: Listener | None = None
    ) -> None:
        self._read = read
        self.poll_seconds = poll_seconds
        self._feeds: dict[str, _Feed] = {}
        self._per_session: Counter[str] = Counter()
        self._per_client: Counter[str] = Counter()
        self._poller: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # a session to read before the next round
        self._unsubscribe = listener.subscribe(SESSION, self.changed) if listener else None

    def changed(self, session_id: str | None) -> None:
        """A session changed (None: any may have): read it before the next round. Called
        from the notification listener, so it only marks and wakes; the poller reads."""
        feeds = self._feeds.values() if session_id is None else [self._feeds.get(session_id)]
        for feed in feeds:
            if feed is not None:
                feed.read = False
                self._wake.set()

    def open(
        self, session_id: str, client: str, per_session: int, per_client: int, locale: str
    ) -> Subscription | None:
        """A subscription to the session's status in `locale`, or None when a cap is reached."""
        if self._per_session[session_id] >= per_session or self._per_client[client] >= per_client:
            return None
        self._per_session[session_id] += 1
        self._per_client[client] += 1
        feed = self._feeds.get(session_id)
        if feed is None:
            feed = self._feeds[session_id] = _Feed(session_id)
            self._wake.set()
        subscription = Subscription(self, feed, client, locale)
        feed.listeners[subscription.queue] = locale
        event = feed.events.get(locale)
        if event is not None:
            subscription.queue.put_nowait(event)
        elif feed.read:
            # The first stream in this locale: read (and render) the session again soon.
            feed.read = False
            self._wake.set()
        if self._poller is None or self._poller.done():
            # The poller outlives the request that starts it: it must not keep that request's
            # context (and with it the request) alive.
            self._poller = asyncio.create_task(
                self._poll(), name="checkout-status-poller", context=contextvars.Context()
            )
        return subscription

    def _release(self, feed: _Feed, subscription: Subscription, client: str) -> None:
        feed.listeners.pop(subscription.queue, None)
        if not feed.listeners and self._feeds.get(feed.session_id) is feed:
            del self._feeds[feed.session_id]
        for counter, key in ((self._per_session, feed.session_id), (self._per_client, client)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    def _end(self, feed: _Feed) -> None:
        """Stop watching the session and end its streams (they close their subscriptions)."""
        if self._feeds.get(feed.session_id) is feed:
            del self._feeds[feed.session_id]
        feed.publish(None)

    async def close(self) -> None:
        """Stop polling and end every stream (before the database closes at shutdown)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for feed in list(self._feeds.values()):
            self._end(feed)

    async def _poll(self) -> None:
        """Read every watched session each round; sessions that just joined at once."""
        loop = asyncio.get_running_loop()
        next_round = loop.time()
        while self._feeds:
            self._wake.clear()
            whole_round = loop.time() >= next_round
            if whole_round:
                next_round = loop.time() + self.poll_seconds
            feeds = [feed for feed in self._feeds.values() if whole_round or not feed.read]
            for feed in feeds:
                # Marked before the read: a change notified while it runs marks it again.
                feed.read = True
            for start in range(0, len(feeds), READ_BATCH):
                await self._read_batch(feeds[start : start + READ_BATCH])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_round):
                    await self._wake.wait()

    async def _read_batch(self, feeds: list[_Feed]) -> None:
        try:
            readings = await self._read([feed.session_id for feed in feeds])
        except Exception:  # the database may be back next round; the streams stay open
            log.exception("checkout status poll failed")
            for feed in feeds:
                feed.read = False
            return
        for feed in feeds:
            reading = readings.get(feed.session_id)
            if reading is None:
                self._end(feed)
                continue
            if reading.key != feed.key:
                feed.key, feed.events = reading.key, {}
            try:
                for locale in feed.unrendered_locales():
                    feed.events[locale] = await reading.render(locale)
                    feed.publish(feed.events[locale], locale)
            except Exception:  # this session's streams end; browsers reconnect
                log.exception("checkout %s: status could not be rendered", feed.session_id)
                self._end(feed)
                continue
            if reading.final:
                feed.publish(CLOSE_EVENT)
                self._end(feed)
