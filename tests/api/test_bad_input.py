"""Bad input is the caller's error (a 4xx naming the parameter), never a 5xx (issue 12, item 1)."""

from __future__ import annotations

from typing import Any

import pytest

from app.api import checkout_sessions
from app.models import IdempotencyRecord
from tests.api.helpers import assert_error, session_body
from tests.conftest import MerchantKeys

FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# Bracket keys that look like list indexes but are not 0, 1, 2, ... in plain ASCII digits.
BAD_INDEXES = [
    ("metadata[00]=x", "metadata[00]"),  # a leading zero
    ("x[%C2%B2]=1", "x[²]"),  # superscript two: str.isdigit() says yes, int() says no
    ("a[0]=1&a[%D9%A1]=2", "a[١]"),  # Arabic-Indic one: int() reads it as 1
    ("a[0]=1&a[01]=2", "a[01]"),
    ("a[0]=1&a[2]=2", "a[2]"),  # index 1 skipped
    ("metadata[order][1]=x", "metadata[order][1]"),  # a list must start at 0
    ("metadata[2024]=x", "metadata[2024]"),  # numeric metadata keys need a JSON body
    ("metadata[order]=1&metadata[7]=x", "metadata[7]"),  # indexes and names mixed
]


@pytest.mark.parametrize(("encoded", "param"), BAD_INDEXES)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/checkout/sessions"),
        ("POST", "/v1/webhook_endpoints"),
        ("DELETE", "/v1/webhook_endpoints/we_test_nope"),
    ],
)
async def test_bad_list_index_in_a_body_is_a_400(
    client, merchant: MerchantKeys, method: str, path: str, encoded: str, param: str
) -> None:
    response = await client.open(
        path, method=method, data=encoded.encode(), headers={**merchant.auth(), **FORM}
    )
    body = await assert_error(response, 400, "invalid_request_error", "parameter_invalid", param)
    assert param in body["error"]["message"]


@pytest.mark.parametrize(("encoded", "param"), BAD_INDEXES)
@pytest.mark.parametrize(
    "path", ["/v1/checkout/sessions", "/v1/events", "/v1/payments/pay_test_nope"]
)
async def test_bad_list_index_in_a_query_string_is_a_400(
    client, merchant: MerchantKeys, path: str, encoded: str, param: str
) -> None:
    response = await client.get(f"{path}?{encoded}", headers=merchant.auth())
    await assert_error(response, 400, "invalid_request_error", "parameter_invalid", param)


async def test_plain_indexes_still_make_lists(client, merchant: MerchantKeys) -> None:
    encoded = (
        "amount_fiat=50.00&currency=EUR&allowed_networks[0]=devnet"
        "&allowed_crypto_currencies[1]=USDC&allowed_crypto_currencies[0]=ETH"
        "&success_url=https://shop.example/ok&cancel_url=https://shop.example/no"
        "&metadata[order]=7&metadata[0x]=y"
    )
    response = await client.post(
        "/v1/checkout/sessions", data=encoded.encode(), headers={**merchant.auth(), **FORM}
    )
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body["allowed_crypto_currencies"] == ["ETH", "USDC"]
    assert body["metadata"] == {"order": "7", "0x": "y"}


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1e999999999", "amount_too_large"),  # decimal.Overflow once scaled
        ("-1e999999999", "amount_too_large"),
        ("1e-999999999", "amount_precision_invalid"),
        # More digits than Decimal's 28-digit context: rounding it would accept 50.00.
        ("50.000000000000000000000000000001", "amount_precision_invalid"),
    ],
)
async def test_amount_beyond_decimal_arithmetic_is_a_400(
    client, merchant: MerchantKeys, amount: str, code: str
) -> None:
    response = await client.post(
        "/v1/checkout/sessions", json=session_body(amount_fiat=amount), headers=merchant.auth()
    )
    await assert_error(response, 400, "invalid_request_error", code, "amount_fiat")


async def test_a_5xx_under_an_idempotency_key_is_not_replayed(
    client, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "crash-then-retry"}
    original = checkout_sessions._fiat_amount

    def crash(*args: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(checkout_sessions, "_fiat_amount", crash)
    first = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    await assert_error(first, 500, "api_error", "internal_error", None)
    assert not await IdempotencyRecord.filter(key="crash-then-retry").exists()

    monkeypatch.setattr(checkout_sessions, "_fiat_amount", original)
    second = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    body = await second.get_json()
    assert second.status_code == 200, body
    assert "Idempotent-Replayed" not in second.headers
    third = await client.post("/v1/checkout/sessions", json=session_body(), headers=headers)
    assert third.headers["Idempotent-Replayed"] == "true"
    assert (await third.get_json())["id"] == body["id"]


@pytest.mark.parametrize("bound", ["lte", "gt"])
async def test_created_bound_at_the_last_second_of_year_9999(
    client, merchant: MerchantKeys, bound: str
) -> None:
    response = await client.get(
        f"/v1/events?created[{bound}]=253402300799", headers=merchant.auth()
    )
    assert response.status_code == 200, await response.get_json()


@pytest.mark.parametrize(
    "path",
    ["/v1/checkout/sessions", "/v1/payments", "/v1/events", "/v1/webhook_endpoints"],
)
async def test_a_cursor_longer_than_any_id_is_a_400_not_a_500(
    client, merchant: MerchantKeys, path: str
) -> None:
    for param in ("starting_after", "ending_before"):
        response = await client.get(f"{path}?{param}={'x' * 60}", headers=merchant.auth())
        await assert_error(response, 400, "invalid_request_error", "resource_missing", param)
