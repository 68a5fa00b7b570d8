"""The delivery worker: claims due deliveries with leases, sends them, records the results.

Workers claim due deliveries with `FOR UPDATE SKIP LOCKED` (PostgreSQL) and a lease: a
claimed row's `next_attempt_at` moves to the lease expiry, so a worker killed mid-flight
loses its claim to the next worker once the lease runs out. Delivery is at least once;
receivers deduplicate on `webhook-id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from tortoise.expressions import F, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from app.config import Settings
from app.http import SsrfGuard, outbound_client
from app.models import (
    Event,
    Heartbeat,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    new_id,
)
from app.notify import OUTBOX, Listener, process_listener
from app.objects import event_object
from app.secretbox import SecretUnreadable
from app.ssrf import Resolver, SystemResolver, blocked_reason
from app.states import WebhookDeliveryStatus, WebhookEndpointStatus, utcnow
from app.webhooks.retry import STALE_GRACE, next_attempt_at, parse_retry_after
from app.webhooks.signing import USER_AGENT, active_secrets, secret_box, signature_headers

log = logging.getLogger("kassa.webhooks")

MAX_RESPONSE_BYTES = 4096
CLAIM_BATCH = 100
SAVE_BATCH = 200
STRUGGLING_ENDPOINT_SLOTS = 2
# `Heartbeat` row the running workers write, at most every HEARTBEAT_SECONDS.
HEARTBEAT = "webhook-delivery"
HEARTBEAT_SECONDS = 10.0


class Clock(Protocol):
    """Where scheduling reads "now"; tests move it forward."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return utcnow()


def event_body(event: Event) -> bytes:
    return json.dumps(event_object(event), separators=(",", ":"), ensure_ascii=False).encode()


def _storable_text(text: str) -> str:
    """Receiver-chosen text as any database stores it: PostgreSQL refuses NUL in text, and
    a lone surrogate is not UTF-8; each becomes a replacement character."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _crash_point(step: str) -> None:
    """Test hook: `KASSA_WEBHOOKS_CRASH_AT=<step>` kills the process here, like `kill -9`."""
    if os.environ.get("KASSA_WEBHOOKS_CRASH_AT") == step:
        os._exit(9)


def due_deliveries(now: dt.datetime) -> QuerySet[WebhookDelivery]:
    """Pending deliveries of enabled endpoints whose time has come: what workers claim. The
    endpoint filter is a subquery, not a join, so FOR UPDATE locks delivery rows only."""
    return WebhookDelivery.filter(
        status=WebhookDeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        endpoint_id__in=Subquery(
            WebhookEndpoint.filter(status=WebhookEndpointStatus.ENABLED).values("id")
        ),
    )


@dataclass
class _Claimed:
    delivery: WebhookDelivery
    event: Event
    endpoint: WebhookEndpoint


@dataclass
class _Outcome:
    delivery_id: str
    lease_token: str
    endpoint_id: str
    number: int
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None
    status: WebhookDeliveryStatus  # PENDING: retry at next_attempt_at
    next_attempt_at: dt.datetime | None
    disable_endpoint: bool = False


@dataclass
class DeliveryWorker:
    """Claims due deliveries and sends them, many at once, from one process."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    resolver: Resolver = field(default_factory=SystemResolver)
    # None: httpx's default CA bundle. Tests pass a context that trusts their own CA.
    ssl_context: ssl.SSLContext | None = None
    # Wakes the worker when deliveries are owed (any process, on commit); the poll interval
    # remains the fallback, and the only clock for retries that come due later.
    listener: Listener = field(default_factory=process_listener)

    def __post_init__(self) -> None:
        self._box = secret_box(self.settings)
        if self.settings.webhook_lease_seconds < 2 * self.settings.webhook_timeout_seconds:
            # A lease that can run out mid-attempt lets a second worker send the same event.
            log.warning(
                "KASSA_WEBHOOK_LEASE_SECONDS (%s) should be at least twice "
                "KASSA_WEBHOOK_TIMEOUT_SECONDS (%s)",
                self.settings.webhook_lease_seconds,
                self.settings.webhook_timeout_seconds,
            )
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._per_endpoint: dict[str, int] = {}
        self._failing: dict[str, bool] = {}
        self._outcomes: asyncio.Queue[_Outcome] = asyncio.Queue(
            maxsize=max(SAVE_BATCH, 2 * self.settings.webhook_concurrency)
        )
        self._writer: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._owed = asyncio.Event()  # a `kassa_outbox` notification since the last claim
        self._last_beat = -HEARTBEAT_SECONDS

    # -- lifecycle

    async def run(self) -> None:
        """Deliver until `stop()` (or cancellation)."""
        self._ensure_writer()
        poll = self.settings.webhook_poll_interval_seconds
        unsubscribe = self.listener.subscribe(OUTBOX, lambda _payload: self._owed.set())
        try:
            while not self._stopping.is_set():
                await self._beat()
                # Cleared before claiming: a notification that arrives during the claim
                # (deliveries committed after its query) makes the next wait return at once.
                self._owed.clear()
                started = await self._claim_and_start()
                if started:
                    continue
                await self._wait_for_progress(poll, wake=self._owed)
        finally:
            unsubscribe()
            await self.aclose()

    def stop(self) -> None:
        """Finish the current step and return from `run()`; in-flight attempts are cut."""
        self._stopping.set()
        self._owed.set()  # out of its wait at once

    async def _beat(self) -> None:
        """Tell `kassa doctor` a delivery worker runs (wall time: the doctor compares it with
        its own clock, not with this worker's scheduling clock)."""
        if time.monotonic() - self._last_beat < HEARTBEAT_SECONDS:
            return
        self._last_beat = time.monotonic()
        await Heartbeat.update_or_create(
            {"beat_at": utcnow(), "process": f"{socket.gethostname()}:{os.getpid()}"},
            name=HEARTBEAT,
        )

    async def run_until_idle(self) -> None:
        """Deliver everything due now (by the clock), wait for results to be saved. For tests."""
        self._ensure_writer()
        while True:
            started = await self._claim_and_start()
            if not started and not self._inflight:
                break
            if not started:
                await self._wait_for_progress(None)
        await self._outcomes.join()

    async def aclose(self) -> None:
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._writer is not None:
            if not self._writer.done():
                with contextlib.suppress(asyncio.CancelledError):
                    # Save what finished before stopping; unsaved claims are retaken later.
                    await asyncio.wait_for(self._outcomes.join(), timeout=5)
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _ensure_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="webhook-results")

    async def _wait_for_progress(
        self, at_most: float | None, wake: asyncio.Event | None = None
    ) -> None:
        """Until an attempt finishes, `wake` is set, or `at_most` seconds passed."""
        waits: set[asyncio.Future[Any]] = set(self._inflight)
        woken = asyncio.ensure_future(wake.wait()) if wake is not None else None
        if woken is not None:
            waits.add(woken)
        try:
            if waits:
                await asyncio.wait(waits, timeout=at_most, return_when=asyncio.FIRST_COMPLETED)
            elif at_most is not None:
                await asyncio.sleep(at_most)
        finally:
            if woken is not None:
                woken.cancel()

    # -- claiming

    async def _claim_and_start(self) -> int:
        free = self.settings.webhook_concurrency - len(self._inflight)
        if free <= 0:
            return 0
        claimed = await self.claim(min(free, CLAIM_BATCH))
        for item in claimed:
            endpoint_id = item.endpoint.id
            self._per_endpoint[endpoint_id] = self._per_endpoint.get(endpoint_id, 0) + 1
            task = asyncio.create_task(self._deliver(item))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(claimed)

    def _endpoint_cap(self, endpoint_id: str) -> int:
        # An endpoint whose last attempt failed gets two slots until it answers 2xx again:
        # a hanging URL then holds two slots per timeout, not a share of the whole worker.
        if self._failing.get(endpoint_id):
            return STRUGGLING_ENDPOINT_SLOTS
        return self.settings.webhook_endpoint_concurrency

    def _saturated_endpoints(self) -> list[str]:
        return [
            eid for eid, count in self._per_endpoint.items() if count >= self._endpoint_cap(eid)
        ]

    async def claim(self, limit: int) -> list[_Claimed]:
        """Lease up to `limit` due deliveries of enabled endpoints to this worker."""
        now = self.clock.now()
        token = new_id("lease")
        lease_until = now + dt.timedelta(seconds=self.settings.webhook_lease_seconds)
        saturated = self._saturated_endpoints()
        async with in_transaction() as conn:
            # Querysets are built inside the transaction (toolchain gotcha 4).
            due = due_deliveries(now)
            if saturated:
                due = due.exclude(endpoint_id__in=saturated)
            ids = (
                await due.order_by("next_attempt_at")
                .limit(limit)
                .select_for_update(skip_locked=True)
                .using_db(conn)
                .values_list("id", flat=True)
            )
            if not ids:
                return []
            # Conditional, so two claimers on SQLite (no row locks) cannot both win a row.
            await (
                WebhookDelivery.filter(
                    id__in=list(ids), status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now
                )
                .using_db(conn)
                .update(lease_token=token, next_attempt_at=lease_until, attempts=F("attempts") + 1)
            )
        # The rows this claim won, found by primary key (`lease_token` has no index, and the
        # table keeps every delivery: filtering on it alone scans a table that only grows).
        deliveries = await WebhookDelivery.filter(id__in=list(ids), lease_token=token)
        if not deliveries:
            return []
        _crash_point("after_claim")
        deliveries = await self._release_over_cap(deliveries, token)
        events = {
            e.id: e
            for e in await Event.filter(id__in=list({d.event_id for d in deliveries}))  # type: ignore[attr-defined]
        }
        endpoints = {
            e.id: e
            for e in await WebhookEndpoint.filter(
                id__in=list({d.endpoint_id for d in deliveries})  # type: ignore[attr-defined]
            )
        }
        claimed = []
        for d in deliveries:
            event = events.get(d.event_id)  # type: ignore[attr-defined]
            endpoint = endpoints.get(d.endpoint_id)  # type: ignore[attr-defined]
            if event is not None and endpoint is not None:
                claimed.append(_Claimed(d, event, endpoint))
        return claimed

    async def _release_over_cap(
        self, deliveries: list[WebhookDelivery], token: str
    ) -> list[WebhookDelivery]:
        """Give back rows beyond an endpoint's in-flight cap, so one URL can't take all slots."""
        counts = dict(self._per_endpoint)
        kept, extra = [], []
        for d in sorted(deliveries, key=lambda d: d.next_attempt_at):
            endpoint_id = d.endpoint_id  # type: ignore[attr-defined]
            if counts.get(endpoint_id, 0) < self._endpoint_cap(endpoint_id):
                counts[endpoint_id] = counts.get(endpoint_id, 0) + 1
                kept.append(d)
            else:
                extra.append(d.id)
        if extra:
            await WebhookDelivery.filter(id__in=extra, lease_token=token).update(
                lease_token=None, next_attempt_at=self.clock.now(), attempts=F("attempts") - 1
            )
        return kept

    # -- sending

    def _client(self, endpoint: WebhookEndpoint) -> httpx.AsyncClient:
        # Private targets only ever for test-mode endpoints, and only if the operator allows.
        allow_private = self.settings.webhooks_allow_private_targets and not endpoint.livemode
        client = self._clients.get(allow_private)
        if client is None:
            client = outbound_client(
                timeout=self.settings.webhook_timeout_seconds,
                connect_timeout=self.settings.webhook_connect_timeout_seconds,
                follow_redirects=False,  # a redirect is reported as the endpoint's answer
                guard=SsrfGuard(self.resolver, allow_private=allow_private),
                max_idle_per_origin=self.settings.webhook_endpoint_concurrency,
                user_agent=USER_AGENT,
                ssl_context=self.ssl_context,
            )
            self._clients[allow_private] = client
        return client

    async def _deliver(self, item: _Claimed) -> None:
        try:
            outcome = await self.attempt(item)
            self._failing[item.endpoint.id] = outcome.status != WebhookDeliveryStatus.SUCCEEDED
            _crash_point("after_response")
            await self._outcomes.put(outcome)
        except Exception:
            # The lease runs out and another pass retries; never lose the loop over one row.
            log.exception("webhook delivery %s crashed", item.delivery.id)
        finally:
            endpoint_id = item.endpoint.id
            left = self._per_endpoint.get(endpoint_id, 1) - 1
            if left > 0:
                self._per_endpoint[endpoint_id] = left
            else:
                self._per_endpoint.pop(endpoint_id, None)

    async def attempt(self, item: _Claimed) -> _Outcome:
        """One HTTP POST of the event; never raises for network trouble."""
        delivery, event, endpoint = item.delivery, item.event, item.endpoint
        now = self.clock.now()
        started_wall = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        body_text: str | None = None
        retry_after: float | None = None
        # A row that sat unsent long past its window (its endpoint was disabled for days, or
        # no worker ran) is closed instead of surprising the merchant with stale events.
        if delivery.attempts > 1 and now > delivery.retry_until + STALE_GRACE:
            error = "retry window ended before this attempt"
        else:
            try:
                signing = active_secrets(self._box, endpoint, now)
            except SecretUnreadable as problem:
                signing, error = [], str(problem)
            if endpoint.livemode and not endpoint.url.startswith("https://"):
                signing, error = [], "live-mode endpoints must use https"
            if signing:
                body = event_body(event)
                # Receivers check the timestamp against their wall clock, not our scheduler's.
                headers = signature_headers(event.id, body, signing)
                headers["accept-encoding"] = "identity"
                try:
                    status_code, body_text, retry_header = await self._post(endpoint, body, headers)
                    retry_after = parse_retry_after(retry_header, now)
                except TimeoutError:
                    error = f"timed out after {self.settings.webhook_timeout_seconds:g}s"
                except httpx.InvalidURL as problem:
                    error = f"invalid URL: {problem}"
                except (httpx.HTTPError, httpx.StreamError) as problem:
                    error = blocked_reason(problem) or f"{type(problem).__name__}: {problem}"
                    if isinstance(problem, httpx.TimeoutException):
                        error = f"timed out ({type(problem).__name__})"
        duration_ms = int((time.monotonic() - started_wall) * 1000)
        outcome = _Outcome(
            delivery_id=delivery.id,
            lease_token=delivery.lease_token or "",
            endpoint_id=endpoint.id,
            number=delivery.attempts,
            started_at=now,
            duration_ms=duration_ms,
            status_code=status_code,
            error=_storable_text(error or "")[:500] or None,
            response_body=None if body_text is None else _storable_text(body_text),
            status=WebhookDeliveryStatus.PENDING,
            next_attempt_at=None,
        )
        if status_code is not None and 200 <= status_code < 300:
            outcome.status = WebhookDeliveryStatus.SUCCEEDED
        elif status_code == 410:
            outcome.status = WebhookDeliveryStatus.FAILED
            outcome.disable_endpoint = True
        else:
            if error is None and status_code is not None:
                outcome.error = (
                    f"redirect {status_code} (redirects are not followed)"
                    if 300 <= status_code < 400
                    else f"HTTP {status_code}"
                )
            after = self.clock.now()
            outcome.next_attempt_at = next_attempt_at(
                delivery.attempts, after, delivery.retry_until, retry_after
            )
            if outcome.next_attempt_at is None:
                outcome.status = WebhookDeliveryStatus.FAILED
        return outcome

    async def _post(
        self, endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, str | None]:
        client = self._client(endpoint)
        async with asyncio.timeout(self.settings.webhook_timeout_seconds):
            async with client.stream("POST", endpoint.url, content=body, headers=headers) as resp:
                kept = bytearray()
                # Raw bytes, at most 4 KiB: a huge or endless answer is cut off, not buffered.
                async for chunk in resp.aiter_raw():
                    kept += chunk
                    if len(kept) >= MAX_RESPONSE_BYTES:
                        break
                text = bytes(kept[:MAX_RESPONSE_BYTES]).decode("utf-8", errors="replace")
                return resp.status_code, text, resp.headers.get("retry-after")

    # -- saving results

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            while len(batch) < SAVE_BATCH and not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            try:
                await self._record(batch)
            finally:
                for _ in batch:
                    self._outcomes.task_done()

    async def _record(self, outcomes: list[_Outcome]) -> None:
        """Save results in one transaction; if that fails, row by row, so a row the database
        refuses holds back no other delivery (another merchant's, often). A row that still
        fails keeps its lease and is retried once that expires."""
        try:
            await self._save(outcomes)
        except Exception:
            if len(outcomes) == 1:
                log.exception("saving the result of delivery %s failed", outcomes[0].delivery_id)
                return
            log.warning(
                "saving %d webhook results failed; saving each alone", len(outcomes), exc_info=True
            )
            for outcome in outcomes:
                await self._record([outcome])

    async def _save(self, outcomes: list[_Outcome]) -> None:
        now = self.clock.now()
        attempts = []
        async with in_transaction() as conn:
            for o in outcomes:
                updated = (
                    await WebhookDelivery.filter(id=o.delivery_id, lease_token=o.lease_token)
                    .using_db(conn)
                    .update(
                        status=o.status,
                        next_attempt_at=o.next_attempt_at or now,
                        lease_token=None,
                        last_status_code=o.status_code,
                        last_error=o.error,
                        completed_at=now if o.status != WebhookDeliveryStatus.PENDING else None,
                    )
                )
                if not updated:
                    continue  # lease lost (another worker retook it) or endpoint deleted
                attempts.append(
                    WebhookAttempt(
                        delivery_id=o.delivery_id,
                        number=o.number,
                        started_at=o.started_at,
                        duration_ms=o.duration_ms,
                        status_code=o.status_code,
                        error=o.error,
                        response_body=o.response_body,
                    )
                )
                if o.disable_endpoint:
                    await (
                        WebhookEndpoint.filter(id=o.endpoint_id)
                        .using_db(conn)
                        .update(
                            status=WebhookEndpointStatus.DISABLED,
                            disabled_reason="The endpoint answered 410 Gone.",
                            updated_at=now,
                        )
                    )
            if attempts:
                await WebhookAttempt.bulk_create(attempts, using_db=conn)
