"""Webhook test kit: real loopback HTTP receivers, a fake resolver, a movable clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from app.config import Settings
from app.models import CheckoutSession, Event, WebhookEndpoint, new_id
from app.states import EventType, SessionStatus, transition, utcnow
from app.webhooks.signing import new_signing_secret, seal_secret, secret_box
from tests.conftest import MerchantKeys, make_settings

# ---- a plain asyncio HTTP/1.1 receiver ---------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    # "normal", "hang" (never answer), "reset" (TCP RST), "stream" (stream_bytes of body)
    mode: str = "normal"
    stream_bytes: int = 0


Handler = Callable[[Received], Reply | Awaitable[Reply]]


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request and connection."""

    def __init__(self, handler: Handler | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.requests: list[Received] = []
        self.connections = 0
        self.streamed_bytes = 0  # the most any one connection managed to send
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.arrived = asyncio.Event()

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, backlog=1024, ssl=self.tls
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _reply(self, request: Received) -> Reply:
        if self.handler is None:
            return Reply()
        result = self.handler(request)
        if isinstance(result, Reply):
            return result
        return await result

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(method, target, headers, body, time.monotonic())
                self.requests.append(request)
                self.arrived.set()
                reply = await self._reply(request)
                if reply.mode == "hang":
                    await asyncio.sleep(3600)
                if reply.mode == "reset":
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                length = reply.stream_bytes if reply.mode == "stream" else len(reply.body)
                head = (
                    f"HTTP/1.1 {reply.status} X\r\nContent-Length: {length}\r\n{extra}\r\n"
                ).encode("latin-1")
                writer.write(head)
                if reply.mode == "stream":
                    chunk = b"x" * 65536
                    sent = 0
                    try:
                        while sent < reply.stream_bytes:
                            writer.write(chunk)
                            await writer.drain()
                            sent += len(chunk)
                    finally:
                        self.streamed_bytes = max(self.streamed_bytes, sent)
                    return
                writer.write(reply.body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        except asyncio.CancelledError:
            # Closing the receiver ends hanging connections; asyncio's stream callback
            # would log a cancelled handler as an error.
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.requests]

    async def wait_for(self, count: int, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver got {len(self.requests)}/{count} requests")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), 0.05)
            except TimeoutError:
                pass


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    started: list[Receiver] = []

    async def make(handler: Handler | None = None, tls: ssl.SSLContext | None = None) -> Receiver:
        receiver = await Receiver(handler, tls).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        await receiver.close()


# ---- DNS and time ------------------------------------------------------------------------


class FakeResolver:
    """Answers from a table; anything else does not resolve. Counts lookups."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = dict(table or {})
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


class OffsetClock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def now(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


# ---- settings, endpoints and events ------------------------------------------------------


def fast_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhooks_allow_private_targets": True,
        "webhook_connect_timeout_seconds": 0.5,
        "webhook_timeout_seconds": 1.0,
        "webhook_lease_seconds": 5.0,
        "webhook_poll_interval_seconds": 0.02,
        **overrides,
    }
    return make_settings(database_url, **values)


@pytest.fixture
def private_targets(app: Quart) -> Iterator[None]:
    """The app accepts loopback URLs for test-mode endpoints while the test runs."""
    original = app.config["KASSA_SETTINGS"]
    app.config["KASSA_SETTINGS"] = original.model_copy(
        update={"webhooks_allow_private_targets": True}
    )
    yield
    app.config["KASSA_SETTINGS"] = original


@pytest.fixture
def fake_dns(app: Quart) -> Iterator[FakeResolver]:
    resolver = FakeResolver()
    app.config["KASSA_RESOLVER"] = resolver
    yield resolver
    app.config.pop("KASSA_RESOLVER", None)


@pytest.fixture
async def clean_endpoints(app: Quart) -> AsyncIterator[None]:
    """Tests share one database: drop every endpoint (and its deliveries) afterwards."""
    yield
    await WebhookEndpoint.all().delete()


async def create_endpoint(
    client: TestClientProtocol,
    merchant: MerchantKeys,
    url: str,
    events: list[str] | None = None,
    livemode: bool = False,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook_endpoints",
        json={"url": url, "enabled_events": events or ["*"]},
        headers=merchant.auth(livemode),
    )
    body = await response.get_json()
    assert response.status_code == 200, body
    return body  # type: ignore[no-any-return]


async def insert_endpoint(
    settings: Settings, merchant_id: str, url: str, *, livemode: bool = False
) -> str:
    """An endpoint written straight to the database, past the API's URL checks; its id."""
    endpoint_id = new_id("we")
    now = utcnow()
    await WebhookEndpoint.create(
        id=endpoint_id,
        merchant_id=merchant_id,
        livemode=livemode,
        url=url,
        enabled_events=["*"],
        signing_secrets=[seal_secret(secret_box(settings), endpoint_id, new_signing_secret())],
        created_at=now,
        updated_at=now,
    )
    return endpoint_id


async def new_session(merchant_id: str, livemode: bool = False) -> CheckoutSession:
    session = session_row(merchant_id, livemode)
    await session.save(force_create=True)
    return session


def session_row(merchant_id: str, livemode: bool = False) -> CheckoutSession:
    """An open session, not yet saved (for bulk_create)."""
    now = utcnow()
    session_id = new_id("cs_live" if livemode else "cs_test")
    return CheckoutSession(
        id=session_id,
        merchant_id=merchant_id,
        livemode=livemode,
        status=SessionStatus.OPEN,
        amount_fiat_cents=5000,
        fiat_currency="EUR",
        allowed_crypto_currencies=["ETH"],
        allowed_networks=["devnet"],
        checkout_url=f"http://127.0.0.1:8000/checkout/{session_id}",
        success_url="https://shop.example/ok",
        cancel_url="https://shop.example/cancel",
        metadata={"order": "1"},
        expires_at=now + dt.timedelta(hours=1),
        created_at=now,
        updated_at=now,
    )


async def emit_events(merchant_id: str, count: int, livemode: bool = False) -> list[Event]:
    """`count` committed `checkout.session.expired` events, each from its own transition."""
    events = []
    for _ in range(count):
        session = await new_session(merchant_id, livemode)
        events.append(
            await transition(session, SessionStatus.EXPIRED, EventType.CHECKOUT_SESSION_EXPIRED)
        )
    return events
