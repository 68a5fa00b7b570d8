"""The one outbound HTTP client for merchant-supplied URLs, guarded against SSRF.

A merchant controls the webhook URL and its DNS, so a naive client can be aimed at the
operator's own network (loopback, private ranges, cloud metadata at 169.254.169.254).
The guard works at the socket level: the client's network backend resolves the host once,
refuses the whole target if *any* answer is non-public (a resolver may answer a public
address first and loopback second), and connects only to the addresses it checked. The URL
keeps its hostname, so the Host header, TLS SNI and certificate checks use the real name
while the TCP connection goes to the pinned address: no DNS-rebinding window.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import sys
import typing
from collections.abc import Iterable, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore imports sniffio on every lock it creates and, when it is absent, pays a full
    # failed-import path scan each time (a third of a delivery's CPU here). A None entry
    # makes the import fail at once; httpcore then assumes asyncio, which is what we run.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# reference.md "SSRF guard": every range a merchant URL must never reach.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches loopback on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast 255.255.255.255
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/128",
        "::1/128",
        "::/96",  # IPv4-compatible (deprecated)
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
# IPv6 forms that carry an IPv4 address: the embedded address decides.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


class BlockedTarget(Exception):
    """The target resolves to an address Kassa must not connect to."""


class Resolver(Protocol):
    """Host name -> addresses. Injectable so tests can play DNS."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver, off the event loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        return [str(info[4][0]) for info in infos]


def is_public_address(address: IPAddress) -> bool:
    """False for every loopback, private, link-local, reserved or special-purpose address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address in _SIX_TO_FOUR:
            embedded = address.sixtofour
        if embedded is not None:
            return is_public_address(embedded)
        if address.scope_id or any(address in net for net in _BLOCKED_V6):
            return False
    elif any(address in net for net in _BLOCKED_V4):
        return False
    return address.is_global and not address.is_multicast


def _legacy_ipv4_part(text: str) -> int:
    if text[:2].lower() == "0x":
        return int(text[2:] or "0", 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8)
    return int(text, 10)


def parse_ip_host(host: str) -> IPAddress | None:
    """The address a host names literally, including the old numeric IPv4 spellings.

    `2130706433`, `0x7f.1`, `0177.0.0.1` and `127.1` all mean 127.0.0.1 to `inet_aton`,
    getaddrinfo and browsers (WHATWG URL): a guard that only knows dotted quads misses them.
    Returns None for a name; raises BlockedTarget for a malformed number.
    """
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        pass
    parts = host.split(".")
    last = parts[-1].lower()
    hexdigits = "0123456789abcdef"
    numeric = last.isdigit() or (last.startswith("0x") and all(c in hexdigits for c in last[2:]))
    if not numeric:
        return None
    try:
        numbers = [_legacy_ipv4_part(part) for part in parts]
    except ValueError:
        raise BlockedTarget(f"{host!r} is not a valid IP address") from None
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]):
        raise BlockedTarget(f"{host!r} is not a valid IP address")
    value = 0
    for number in numbers[:-1]:
        value = value * 256 + number
    tail_bits = 8 * (5 - len(numbers))
    if numbers[-1] >= 1 << tail_bits:
        raise BlockedTarget(f"{host!r} is not a valid IP address")
    return ipaddress.IPv4Address((value << tail_bits) | numbers[-1])


async def resolve_allowed(
    host: str, port: int, resolver: Resolver, *, allow_private: bool
) -> list[IPAddress]:
    """Every address of `host`, or BlockedTarget if any of them is not allowed."""
    literal = parse_ip_host(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            answers = await resolver.resolve(host, port)
        except (OSError, UnicodeError) as error:
            raise BlockedTarget(f"{host!r} does not resolve ({error})") from None
        addresses = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
            except ValueError:
                raise BlockedTarget(f"{host!r} resolved to a non-address {answer!r}") from None
        if not addresses:
            raise BlockedTarget(f"{host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                # One bad answer condemns the name: we must not pick "the good one" and let
                # the next resolution (or another worker) pick the bad one.
                raise BlockedTarget(f"{host!r} resolves to a non-public address ({address})")
    return list(dict.fromkeys(addresses))


class UnsafeUrl(Exception):
    """A merchant URL that Kassa refuses to call; `message` is safe to show the merchant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def check_url(url: str, *, livemode: bool, allow_private: bool, resolver: Resolver) -> None:
    """The creation-time check: scheme per mode, and the host resolves to allowed addresses."""
    parts = urlsplit(url)
    if livemode and parts.scheme != "https":
        raise UnsafeUrl("Live-mode webhook endpoints must use https.")
    host = parts.hostname or ""
    literal = parse_ip_host_safe(host)
    if literal is not None and str(literal) != host.strip("[]"):
        raise UnsafeUrl("Write IP addresses in standard dotted-quad or IPv6 form.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await resolve_allowed(host, port, resolver, allow_private=allow_private and not livemode)
    except BlockedTarget as error:
        raise UnsafeUrl(
            f"The URL's host is not allowed: {error}. Webhook URLs must resolve only to "
            "public internet addresses."
        ) from None


def parse_ip_host_safe(host: str) -> IPAddress | ipaddress.IPv4Address | None:
    """Like parse_ip_host, but a malformed number is reported as 0.0.0.0 (never allowed)."""
    try:
        return parse_ip_host(host)
    except BlockedTarget:
        return ipaddress.IPv4Address(0)


class PinnedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves through the guard and connects only to the addresses it allowed."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
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
                    host, port, self._resolver, allow_private=self._allow_private
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


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over the pinned backend and a lean keep-alive pool."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_private: bool,
        max_idle_per_origin: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # trust_env=False: an HTTP(S)_PROXY in the environment would bypass the pinning.
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; replacing the pool
        # keeps httpx's request/response mapping and swaps how sockets are opened and reused.
        self._pool = _KeepAlivePool(  # type: ignore[assignment]
            PinnedNetworkBackend(resolver, allow_private=allow_private),
            ssl_context or httpx.create_ssl_context(trust_env=False),
            max_idle_per_origin=max_idle_per_origin,
            keepalive_expiry=30.0,
        )


def guarded_client(
    *,
    resolver: Resolver | None = None,
    allow_private: bool = False,
    connect_timeout: float = 5.0,
    timeout: float = 15.0,
    max_idle_per_origin: int = 16,
    user_agent: str = "Kassa",
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An httpx client for merchant URLs: SSRF-pinned, no redirects, bounded timeouts."""
    return httpx.AsyncClient(
        transport=_GuardedTransport(
            resolver or SystemResolver(),
            allow_private=allow_private,
            max_idle_per_origin=max_idle_per_origin,
            ssl_context=ssl_context,
        ),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers={"User-Agent": user_agent},
    )


def blocked_reason(error: BaseException) -> str | None:
    """The guard's reason if `error` (an httpx exception) came from a refused target."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BlockedTarget):
            return str(current)
        current = current.__cause__ or current.__context__
    return None


__all__: Sequence[str] = (
    "BlockedTarget",
    "Resolver",
    "SystemResolver",
    "UnsafeUrl",
    "blocked_reason",
    "check_url",
    "guarded_client",
    "is_public_address",
    "parse_ip_host",
    "resolve_allowed",
)
