"""Who the client is behind a reverse proxy: forwarded headers, honoured only from proxies the
operator trusts (`trusted_proxies`).

Without that setting the peer address is the client: a forged `X-Forwarded-For` from the
internet changes nothing. With it, the client is the right-most address in
`X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the address it saw,
so the left part of the header is whatever the client claimed).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    """The operator's trusted proxies as networks; ValueError names a bad entry."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]
) -> str:
    """The client's address for rate limits and logs."""
    client = peer or "unknown"
    if not proxies or not _trusted(client, proxies) or not forwarded_for:
        return client
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if not _trusted(hop, proxies):
            return hop
        client = hop
    return client
