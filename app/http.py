"""The one outbound HTTP client factory, and the pinned transport behind its SSRF guard.

Every request Kassa makes to another server (webhook deliveries, price quotes, `kassa listen`)
goes through a client from `outbound_client()`; callers state what differs between them
(timeouts, the SSRF guard, pool size, redirects) and nothing else. Which addresses a
merchant URL may reach is `app.ssrf`'s policy; this module enforces it at the socket: the
guarded client's network backend resolves the host once through the policy and connects only
to the addresses it allowed. The URL keeps its hostname, so the Host header, TLS SNI and
certificate checks use the real name while the TCP connection goes to the pinned address: no
DNS-rebinding window.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpcore
import httpx

from app.ssrf import BlockedTarget, Resolver, SystemResolver, resolve_allowed

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore imports sniffio on every lock it creates and, when it is absent, pays a full
    # failed-import path scan each time (a third of a delivery's CPU here). A None entry
    # makes the import fail at once; httpcore then assumes asyncio, which is what we run.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

KEEPALIVE_SECONDS = 30.0


@dataclass(frozen=True)
class SsrfGuard:
    """Connect only to addresses `app.ssrf` allows for a merchant-supplied URL."""

    resolver: Resolver = field(default_factory=SystemResolver)
    # Loopback and private ranges too: only for test-mode targets the operator allowed.
    allow_private: bool = False


def outbound_client(
    *,
    timeout: float,
    connect_timeout: float | None = None,
    follow_redirects: bool,
    guard: SsrfGuard | None = None,
    max_idle_per_origin: int = 16,
    user_agent: str | None = None,
    base_url: str = "",
    ssl_context: ssl.SSLContext | None = None,
    trust_env: bool = False,
) -> httpx.AsyncClient:
    """An httpx client for one kind of outbound call.

    `timeout` bounds each phase of a request (`connect_timeout`, when given, the connect
    phase). `guard` pins every connection to addresses the SSRF policy allows; without it the
    client connects wherever the name resolves, so it is only for URLs the operator or the
    developer chose. `max_idle_per_origin` caps the kept-alive connections to one origin.
    `ssl_context` None trusts httpx's default CA bundle. `trust_env` honours HTTP(S)_PROXY and
    SSL_CERT_* from the environment; never with a guard, because the proxy, not the guard,
    would then decide where the connection goes.
    """
    if guard is not None and trust_env:
        raise ValueError("an SSRF-guarded client must not use proxies from the environment")
    transport: httpx.AsyncBaseTransport | None = None
    if guard is not None:
        transport = _PinnedTransport(
            guard, max_idle_per_origin=max_idle_per_origin, ssl_context=ssl_context
        )
    return httpx.AsyncClient(
        transport=transport,
        # Only used when there is no transport of our own (httpx then builds one).
        verify=ssl_context or True,
        limits=httpx.Limits(
            max_keepalive_connections=max_idle_per_origin, keepalive_expiry=KEEPALIVE_SECONDS
        ),
        follow_redirects=follow_redirects,
        trust_env=trust_env,
        timeout=httpx.Timeout(
            timeout, connect=timeout if connect_timeout is None else connect_timeout
        ),
        headers={"User-Agent": user_agent} if user_agent else None,
        base_url=base_url,
    )


class PinnedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves through the SSRF policy and connects only to the addresses it allowed."""

    def __init__(self, guard: SsrfGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_allowed(
                    host, port, self._guard.resolver, allow_private=self._guard.allow_private
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from None
        except BlockedTarget as error:
            # httpx re-raises httpcore.ConnectError as httpx.ConnectError `from` this one.
            raise httpcore.ConnectError(str(error)) from error
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ReleasingStream:
    """A response body that hands its connection back to the pool once closed."""

    def __init__(
        self,
        inner: typing.Any,
        pool: _KeepAlivePool,
        connection: httpcore.AsyncHTTPConnection,
    ) -> None:
        self._inner = inner
        self._pool = pool
        self._connection = connection

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        # httpcore keeps the connection only if the whole body was read; a body we cut off
        # after 4 KiB closes it, which is what we want for a receiver that talks too much.
        try:
            await self._inner.aclose()
        finally:
            await self._pool.release(self._connection)


def _origin_key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return (origin.scheme, origin.host, origin.port)


class _KeepAlivePool:
    """Idle HTTP/1.1 connections per origin, handed out last-in first-out.

    httpcore's own pool re-scans (and polls) every connection for each request it assigns,
    which made it the bottleneck at a few hundred deliveries per second. Concurrency is
    already bounded by the delivery worker, so this pool only has to reuse connections.
    """

    def __init__(
        self,
        network_backend: httpcore.AsyncNetworkBackend,
        ssl_context: typing.Any,
        *,
        max_idle_per_origin: int,
        keepalive_expiry: float,
    ) -> None:
        self._backend = network_backend
        self._ssl_context = ssl_context
        self._max_idle = max_idle_per_origin
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._releases = 0

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        origin = request.url.origin
        connection = await self._take_idle(origin)
        if connection is None:
            connection = httpcore.AsyncHTTPConnection(
                origin=origin,
                ssl_context=self._ssl_context,
                keepalive_expiry=self._keepalive_expiry,
                network_backend=self._backend,
            )
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            await connection.aclose()
            raise
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_ReleasingStream(response.stream, self, connection),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    async def _take_idle(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection | None:
        idle = self._idle.get(_origin_key(origin))
        while idle:
            connection = idle.pop()
            # has_expired() also notices a peer that closed the idle socket.
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        return None

    async def release(self, connection: httpcore.AsyncHTTPConnection) -> None:
        idle = self._idle.setdefault(_origin_key(connection._origin), [])
        if connection.is_idle() and len(idle) < self._max_idle:
            idle.append(connection)
        else:
            await connection.aclose()
        self._releases += 1
        if self._releases % 1000 == 0:
            await self._sweep()

    async def _sweep(self) -> None:
        for origin, idle in list(self._idle.items()):
            keep = []
            for connection in idle:
                if connection.has_expired():
                    await connection.aclose()
                else:
                    keep.append(connection)
            if keep:
                self._idle[origin] = keep
            else:
                del self._idle[origin]

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                await connection.aclose()
        self._idle.clear()


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over the pinned backend and a lean keep-alive pool."""

    def __init__(
        self,
        guard: SsrfGuard,
        *,
        max_idle_per_origin: int,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        # trust_env=False: an HTTP(S)_PROXY in the environment would bypass the pinning.
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; replacing the pool
        # keeps httpx's request/response mapping and swaps how sockets are opened and reused.
        self._pool = _KeepAlivePool(  # type: ignore[assignment]
            PinnedNetworkBackend(guard),
            ssl_context or httpx.create_ssl_context(trust_env=False),
            max_idle_per_origin=max_idle_per_origin,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
