"""Small helpers shared by the API tests."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from quart.typing import TestClientProtocol

from tests.conftest import MerchantKeys

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def unix_time(iso: str) -> int:
    """An API timestamp ("2025-11-23T13:05:00Z") as Unix seconds, checking its documented form."""
    assert ISO_TIME.match(iso), iso
    return int(dt.datetime.fromisoformat(iso).timestamp())


def session_body(**overrides: Any) -> dict[str, Any]:
    """A valid create-session body; override or drop (value None) fields per test."""
    body: dict[str, Any] = {
        "amount_fiat": "50.00",
        "currency": "EUR",
        "allowed_crypto_currencies": ["ETH"],
        "allowed_networks": ["devnet"],
        "success_url": "https://shop.example/ok?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cancel",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


async def create_session(
    client: TestClientProtocol, merchant: MerchantKeys, livemode: bool = False, **overrides: Any
) -> dict[str, Any]:
    if livemode:
        overrides.setdefault("allowed_networks", ["ethereum"])
    body = session_body(**overrides)
    response = await client.post(
        "/v1/checkout/sessions", json=body, headers=merchant.auth(livemode)
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def assert_error(
    response: Any, status: int, type_: str, code: str, param: str | None
) -> dict[str, Any]:
    body = await response.get_json()
    assert response.status_code == status, body
    assert body["error"]["type"] == type_, body
    assert body["error"]["code"] == code, body
    assert body["error"]["param"] == param, body
    assert body["error"]["message"], body
    assert response.headers.get("Request-Id", "").startswith("req_")
    return body
