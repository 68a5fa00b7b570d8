"""Forwarded headers are believed only from the operator's trusted proxies."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.proxies import client_address, trusted_networks

PROXIES = trusted_networks(["10.0.0.0/8", "::1/128"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        ("203.0.113.9", "1.2.3.4", (), "203.0.113.9"),  # no trusted proxies: the peer
        ("203.0.113.9", "1.2.3.4", PROXIES, "203.0.113.9"),  # an untrusted peer forges it
        ("10.0.0.2", "198.51.100.7", PROXIES, "198.51.100.7"),  # one trusted hop
        ("10.0.0.2", "6.6.6.6, 198.51.100.7", PROXIES, "198.51.100.7"),  # client-made prefix
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", PROXIES, "198.51.100.7"),  # two proxies
        ("::1", "2001:db8::5", PROXIES, "2001:db8::5"),
        ("10.0.0.2", None, PROXIES, "10.0.0.2"),
        ("10.0.0.2", "not-an-ip", PROXIES, "not-an-ip"),
        (None, None, PROXIES, "unknown"),
    ],
)
def test_client_address(
    peer: str | None, forwarded: str | None, proxies: tuple[object, ...], client: str
) -> None:
    assert client_address(peer, forwarded, proxies) == client  # type: ignore[arg-type]


def test_a_bad_cidr_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(database_url="sqlite://:memory:", trusted_proxies=["10.0.0.0/33"])
