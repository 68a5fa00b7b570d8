"""Webhooks: the transactional outbox, claiming with leases, signed delivery and retries.

Flow: `transition()` / `record_event()` write an Event and, through the listener registered
here, one `WebhookDelivery` per subscribed endpoint in the same transaction (so an event is
owed exactly when it committed). Workers claim due deliveries with
`FOR UPDATE SKIP LOCKED` (PostgreSQL) and a lease: a claimed row's `next_attempt_at` moves to
the lease expiry, so a worker killed mid-flight loses its claim to the next worker once the
lease runs out. Delivery is at least once; receivers deduplicate on `webhook-id`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol

import httpx
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Subquery
from tortoise.transactions import in_transaction

from app.config import Settings
from app.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_id
from app.objects import event_object
from app.secretbox import SecretBox, SecretUnreadable
from app.ssrf import Resolver, SystemResolver, blocked_reason, guarded_client
from app.states import add_event_listener, utcnow

log = logging.getLogger("kassa.webhooks")

# architecture.md §4.
EVENT_TYPES: tuple[str, ...] = (
    "checkout.session.completed",
    "checkout.session.expired",
    "checkout.session.canceled",
    "payment.created",
    "payment.pending",
    "payment.reorged",
    "payment.confirmed",
    "payment.expired",
)

# Seconds to wait after failed attempt n (1-based) before attempt n+1; the first attempt is
# immediate. After the list: daily, until RETRY_WINDOW after the event (the last attempt is
# pulled in to land exactly at the window's end).
RETRY_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
DAILY = 86_400.0
RETRY_WINDOW = dt.timedelta(days=3)
JITTER = 0.1  # ±10 %, so endpoints that failed together don't retry in lockstep
MAX_RETRY_AFTER = DAILY
STALE_GRACE = dt.timedelta(days=1)
MAX_RESPONSE_BYTES = 4096
CLAIM_BATCH = 100
SAVE_BATCH = 200
STRUGGLING_ENDPOINT_SLOTS = 2
SECRET_BYTES = 32  # Standard Webhooks: 24–64 random bytes
MAX_ROTATION_OVERLAP = dt.timedelta(hours=24)


def _version() -> str:
    try:
        return metadata.version("kassa")
    except metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"Kassa-Webhooks/{_version()} (+https://standardwebhooks.com)"


class Clock(Protocol):
    """Where scheduling reads "now"; tests move it forward."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return utcnow()


# ---- subscriptions and secrets -----------------------------------------------------------


def event_type_pattern_valid(pattern: str) -> bool:
    """`*`, a known type, or a prefix wildcard of known types such as `payment.*`."""
    if pattern == "*" or pattern in EVENT_TYPES:
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(t.startswith(prefix) for t in EVENT_TYPES)
    return False


def event_matches(patterns: Iterable[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _secret_key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(message_id: str, timestamp: int, body: bytes, signing_secrets: Iterable[str]) -> str:
    """The `webhook-signature` header: one `v1,<base64 HMAC-SHA256>` per active secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(
            hmac.new(_secret_key_bytes(secret), signed, hashlib.sha256).digest()
        ).decode("ascii")
        for secret in signing_secrets
    )


def signature_headers(
    message_id: str, body: bytes, signing_secrets: Iterable[str], timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(message_id, ts, body, signing_secrets),
        "content-type": "application/json",
    }


def secret_box(settings: Settings) -> SecretBox:
    """Raises SecretKeyMissing (with setup instructions) when KASSA_SECRET_KEY is unset."""
    return SecretBox(settings.secret_key.get_secret_value())


def seal_secret(box: SecretBox, endpoint_id: str, secret: str) -> dict[str, Any]:
    return {"ciphertext": box.seal(secret, endpoint_id), "expires_at": None}


def active_secrets(box: SecretBox, endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """Newest first; an old secret signs alongside the new one until its overlap ends."""
    current = int(now.timestamp())
    return [
        box.open(entry["ciphertext"], endpoint.id)
        for entry in endpoint.signing_secrets
        if entry.get("expires_at") is None or entry["expires_at"] > current
    ]


def rotated_secrets(
    box: SecretBox,
    endpoint: WebhookEndpoint,
    new_secret: str,
    overlap: dt.timedelta,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The new secret first; the previous current one kept until now + overlap."""
    current = int(now.timestamp())
    kept: list[dict[str, Any]] = [seal_secret(box, endpoint.id, new_secret)]
    if overlap.total_seconds() > 0:
        until = int((now + min(overlap, MAX_ROTATION_OVERLAP)).timestamp())
        for entry in endpoint.signing_secrets:
            expires = entry.get("expires_at")
            if expires is None:
                kept.append({"ciphertext": entry["ciphertext"], "expires_at": until})
            elif expires > current:
                kept.append(entry)
    return kept


# ---- the outbox --------------------------------------------------------------------------


async def enqueue_deliveries(event: Event, connection: BaseDBAsyncClient) -> None:
    """The event listener: owe `event` to every subscribed, enabled endpoint, in its transaction."""
    endpoints = (
        await WebhookEndpoint.filter(
            merchant_id=event.merchant_id,  # type: ignore[attr-defined]
            livemode=event.livemode,
            status="enabled",
        )
        .using_db(connection)
        .values("id", "enabled_events")
    )
    rows = [
        WebhookDelivery(
            id=new_id("whdel"),
            event_id=event.id,
            endpoint_id=endpoint["id"],
            status="pending",
            attempts=0,
            next_attempt_at=event.created_at,
            retry_until=event.created_at + RETRY_WINDOW,
            created_at=event.created_at,
        )
        for endpoint in endpoints
        if event_matches(endpoint["enabled_events"], event.type)
    ]
    if rows:
        await WebhookDelivery.bulk_create(rows, using_db=connection)


add_event_listener(enqueue_deliveries)


async def schedule_redelivery(
    event: Event, endpoint_ids: list[str], now: dt.datetime
) -> list[WebhookDelivery]:
    """Manual resend: make each (event, endpoint) due now with a fresh retry window."""
    async with in_transaction() as conn:
        for endpoint_id in endpoint_ids:
            existing = (
                await WebhookDelivery.filter(event_id=event.id, endpoint_id=endpoint_id)
                .using_db(conn)
                .update(
                    status="pending",
                    next_attempt_at=now,
                    retry_until=now + RETRY_WINDOW,
                    lease_token=None,
                    completed_at=None,
                )
            )
            if not existing:
                await WebhookDelivery.create(
                    id=new_id("whdel"),
                    event_id=event.id,
                    endpoint_id=endpoint_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    retry_until=now + RETRY_WINDOW,
                    created_at=now,
                    using_db=conn,
                )
    return await WebhookDelivery.filter(event_id=event.id, endpoint_id__in=endpoint_ids)


async def prune_events(retention_days: int, now: dt.datetime | None = None) -> int:
    """Delete events (and, by cascade, their deliveries) older than the retention."""
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    removed = 0
    while True:
        ids = await Event.filter(created_at__lt=cutoff).limit(500).values_list("id", flat=True)
        if not ids:
            return removed
        removed += await Event.filter(id__in=list(ids)).delete()


# ---- retry policy ------------------------------------------------------------------------


def retry_delay(attempt_number: int, rng: random.Random | None = None) -> float:
    """Seconds after failed attempt `attempt_number` (1-based), with jitter."""
    base = RETRY_DELAYS[attempt_number - 1] if attempt_number <= len(RETRY_DELAYS) else DAILY
    return base * (1 + (rng or random).uniform(-JITTER, JITTER))


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def next_attempt_at(
    attempt_number: int,
    now: dt.datetime,
    retry_until: dt.datetime,
    retry_after: float | None = None,
) -> dt.datetime | None:
    """When to try again after a failed attempt, or None when retries are exhausted."""
    delay = retry_delay(attempt_number)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    when = now + dt.timedelta(seconds=delay)
    if when <= retry_until:
        return when
    # One last try at the end of the window, unless it is (nearly) now anyway.
    if retry_until - now > dt.timedelta(seconds=RETRY_DELAYS[0]):
        return retry_until
    return None


# ---- delivery ----------------------------------------------------------------------------


def event_body(event: Event) -> bytes:
    return json.dumps(event_object(event), separators=(",", ":"), ensure_ascii=False).encode()


def _crash_point(step: str) -> None:
    """Test hook: `KASSA_WEBHOOKS_CRASH_AT=<step>` kills the process here, like `kill -9`."""
    if os.environ.get("KASSA_WEBHOOKS_CRASH_AT") == step:
        os._exit(9)


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
    status: str  # "succeeded", "failed" or "pending" (retry at next_attempt_at)
    next_attempt_at: dt.datetime | None
    disable_endpoint: bool = False


@dataclass
class DeliveryWorker:
    """Claims due deliveries and sends them, many at once, from one process."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    resolver: Resolver = field(default_factory=SystemResolver)
    # None: the system's trusted CAs. Tests pass a context that trusts their own CA.
    ssl_context: ssl.SSLContext | None = None

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

    # -- lifecycle

    async def run(self) -> None:
        """Deliver until `stop()` (or cancellation)."""
        self._ensure_writer()
        poll = self.settings.webhook_poll_interval_seconds
        try:
            while not self._stopping.is_set():
                started = await self._claim_and_start()
                if started:
                    continue
                await self._wait_for_progress(poll)
        finally:
            await self.aclose()

    def stop(self) -> None:
        """Finish the current step and return from `run()`; in-flight attempts are cut."""
        self._stopping.set()

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

    async def _wait_for_progress(self, at_most: float | None) -> None:
        if self._inflight:
            await asyncio.wait(
                set(self._inflight), timeout=at_most, return_when=asyncio.FIRST_COMPLETED
            )
        elif at_most is not None:
            await asyncio.sleep(at_most)

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
            # Querysets are built inside the transaction (toolchain gotcha 4). The endpoint
            # filter is a subquery, not a join, so FOR UPDATE locks delivery rows only.
            due = WebhookDelivery.filter(
                status="pending",
                next_attempt_at__lte=now,
                endpoint_id__in=Subquery(WebhookEndpoint.filter(status="enabled").values("id")),
            )
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
                WebhookDelivery.filter(id__in=list(ids), status="pending", next_attempt_at__lte=now)
                .using_db(conn)
                .update(lease_token=token, next_attempt_at=lease_until, attempts=F("attempts") + 1)
            )
        deliveries = await WebhookDelivery.filter(lease_token=token)
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
            client = guarded_client(
                resolver=self.resolver,
                allow_private=allow_private,
                connect_timeout=self.settings.webhook_connect_timeout_seconds,
                timeout=self.settings.webhook_timeout_seconds,
                max_idle_per_origin=self.settings.webhook_endpoint_concurrency,
                user_agent=USER_AGENT,
                ssl_context=self.ssl_context,
            )
            self._clients[allow_private] = client
        return client

    async def _deliver(self, item: _Claimed) -> None:
        try:
            outcome = await self.attempt(item)
            self._failing[item.endpoint.id] = outcome.status != "succeeded"
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
            error=(error or "")[:500] or None,
            response_body=body_text,
            status="pending",
            next_attempt_at=None,
        )
        if status_code is not None and 200 <= status_code < 300:
            outcome.status = "succeeded"
        elif status_code == 410:
            outcome.status = "failed"
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
                outcome.status = "failed"
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
                await self._save(batch)
            except Exception:
                # The rows keep their leases and are retried once those expire.
                log.exception("saving %d webhook results failed", len(batch))
            finally:
                for _ in batch:
                    self._outcomes.task_done()

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
                        completed_at=now if o.status != "pending" else None,
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
                            status="disabled",
                            disabled_reason="The endpoint answered 410 Gone.",
                            updated_at=now,
                        )
                    )
            if attempts:
                await WebhookAttempt.bulk_create(attempts, using_db=conn)


# ---- `kassa listen`: forward test events to a local URL -----------------------------------


class ListenError(Exception):
    """`kassa listen` cannot go on; the message says why."""


async def _events_page(
    api: httpx.AsyncClient, api_key: str, params: dict[str, Any]
) -> dict[str, Any]:
    response = await api.get(
        "/v1/events", params=params, headers={"Authorization": f"Bearer {api_key}"}
    )
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise ListenError(f"GET /v1/events answered {response.status_code}: {message}")
    page: dict[str, Any] = response.json()
    return page


async def forward_events(
    api: httpx.AsyncClient,
    api_key: str,
    forward_to: str,
    *,
    secret: str | None = None,
    poll_interval: float = 1.0,
    emit: Any = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Poll the events of a test key and POST each new one, signed, to `forward_to`.

    Like `stripe listen`: a developer's local handler gets the same signed requests a real
    endpoint would, without exposing the laptop to the internet. The forward target is the
    developer's own URL (usually localhost), so it deliberately skips the SSRF guard.
    """
    if not api_key.startswith("sk_test_"):
        raise ListenError("kassa listen forwards test-mode events only: use an sk_test_ key.")
    secret = secret or new_signing_secret()
    stop = stop or asyncio.Event()
    first = await _events_page(api, api_key, {"limit": 1})
    cursor: str | None = first["data"][0]["id"] if first["data"] else None
    started = int(time.time())
    emit(
        f"Ready! Forwarding test events to {forward_to}\n"
        f"Your webhook signing secret is {secret} (^C to quit)"
    )
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(15.0, connect=5.0), follow_redirects=False, trust_env=False
    ) as forward:
        while not stop.is_set():
            params: dict[str, Any] = {"limit": 100}
            if cursor is not None:
                params["ending_before"] = cursor
            else:
                params["created[gte]"] = started
            page = await _events_page(api, api_key, params)
            events = list(reversed(page["data"]))  # oldest first
            for event in events:
                body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
                headers = signature_headers(event["id"], body, [secret])
                headers["user-agent"] = USER_AGENT
                try:
                    answer = await forward.post(forward_to, content=body, headers=headers)
                    outcome = str(answer.status_code)
                except httpx.HTTPError as error:
                    outcome = f"failed: {type(error).__name__}"
                emit(
                    f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}  {event['type']:<28} "
                    f"[{event['id']}] -> POST {forward_to} [{outcome}]"
                )
            if events:
                cursor = events[-1]["id"]
            if not page.get("has_more"):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_interval)
