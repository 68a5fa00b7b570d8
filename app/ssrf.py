"""The SSRF policy: which addresses a merchant-supplied URL may reach.

A merchant controls the webhook URL and its DNS, so a naive client can be aimed at the
operator's own network (loopback, private ranges, cloud metadata at 169.254.169.254).
A target is refused if *any* address its host resolves to is non-public (a resolver may
answer a public address first and loopback second), and IP literals are read the way
`inet_aton` and browsers read them. `app.http` enforces this at the socket and connects only
to the addresses checked here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

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
        # Forms that stand for IPv4 addresses and are not globally reachable (IANA): a DNS
        # answer has no business holding one, and the host or a translator would connect to
        # whatever IPv4 address it embeds (the operator's own network included).
        "::ffff:0:0/96",  # IPv4-mapped (a dual-stack socket connects over IPv4)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): translates into private networks
        # Not globally reachable, and newer than some Pythons' `is_global` tables.
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment identifiers (RFC 9602)
    )
)
# IPv6 forms that carry an IPv4 address of the public internet: the embedded address
# decides. DNS64 answers the well-known NAT64 prefix for IPv4-only hosts (IPv6-only servers).
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
    """False for every loopback, private, link-local, reserved or special-purpose address:
    only globally reachable ones pass (`is_global`, plus the ranges above it may not know)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id or any(address in net for net in _BLOCKED_V6):
            return False
        embedded = None
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        elif address in _SIX_TO_FOUR:
            embedded = address.sixtofour
        if embedded is not None:
            return is_public_address(embedded)
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
    "is_public_address",
    "parse_ip_host",
    "resolve_allowed",
)
