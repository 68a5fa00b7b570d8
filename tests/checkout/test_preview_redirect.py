"""The no-JS preview redirect carries the shopper's `option` encoded (issue 12, item 1)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from quart.typing import TestClientProtocol as Client

from app.models import CheckoutSession


@pytest.mark.parametrize(
    ("encoded", "option"),
    [
        ("%0d%0aX:1", "\r\nX:1"),  # would split the Location header
        ("devnet:ETH%26choose%3D1", "devnet:ETH&choose=1"),  # would add a parameter
        ("%00%C3%A9%20%23", "\x00é #"),
    ],
)
async def test_preview_redirect_encodes_the_option(
    client: Client, session: CheckoutSession, encoded: str, option: str
) -> None:
    response = await client.get(f"/checkout/{session.id}/preview?option={encoded}")
    assert response.status_code == 303
    assert "X" not in response.headers
    location = urlsplit(response.headers["Location"])
    assert location.path == f"/checkout/{session.id}"
    assert parse_qs(location.query, keep_blank_values=True) == {"option": [option]}
    assert "\r" not in response.headers["Location"] and "\n" not in response.headers["Location"]
    page = await client.get(response.headers["Location"])
    assert page.status_code == 200  # an unknown option shows the choices
