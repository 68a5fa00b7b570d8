"""Every validation rule of POST /v1/checkout/sessions: status, type, code and param."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import assert_error, session_body, unix_time
from tests.conftest import MerchantKeys

INVALID = "invalid_request_error"

CASES: list[tuple[str, dict[str, Any], str, str | None]] = [
    # (case id, overrides of the valid body, expected code, expected param)
    ("no amount", {"amount_fiat": None}, "parameter_missing", "amount_fiat"),
    ("both amounts", {"amount_fiat_cents": 5000}, "parameters_exclusive", "amount_fiat"),
    ("amount not decimal", {"amount_fiat": "fifty"}, "amount_invalid", "amount_fiat"),
    ("amount NaN", {"amount_fiat": "NaN"}, "amount_invalid", "amount_fiat"),
    ("amount as JSON number", {"amount_fiat": 50.0}, "parameter_invalid_string", "amount_fiat"),
    ("EUR with 3 decimals", {"amount_fiat": "50.005"}, "amount_precision_invalid", "amount_fiat"),
    (
        "JPY with decimals",
        {"amount_fiat": "10.5", "currency": "JPY"},
        "amount_precision_invalid",
        "amount_fiat",
    ),
    ("zero amount", {"amount_fiat": "0.00"}, "amount_too_small", "amount_fiat"),
    ("negative amount", {"amount_fiat": "-1.00"}, "amount_too_small", "amount_fiat"),
    ("huge amount", {"amount_fiat": "1e400"}, "amount_too_large", "amount_fiat"),
    (
        "cents not integer",
        {"amount_fiat": None, "amount_fiat_cents": "12.5"},
        "parameter_invalid_integer",
        "amount_fiat_cents",
    ),
    (
        "cents boolean",
        {"amount_fiat": None, "amount_fiat_cents": True},
        "parameter_invalid_integer",
        "amount_fiat_cents",
    ),
    (
        "cents huge",
        {"amount_fiat": None, "amount_fiat_cents": 10**30},
        "amount_too_large",
        "amount_fiat_cents",
    ),
    (
        "cents zero",
        {"amount_fiat": None, "amount_fiat_cents": 0},
        "amount_too_small",
        "amount_fiat_cents",
    ),
    ("unknown currency", {"currency": "XYZ"}, "currency_invalid", "currency"),
    ("currency too long", {"currency": "EURO"}, "parameter_invalid_string", "currency"),
    ("currency missing", {"currency": None}, "parameter_missing", "fiat_currency"),
    (
        "empty crypto list",
        {"allowed_crypto_currencies": []},
        "parameter_invalid_empty",
        "allowed_crypto_currencies",
    ),
    (
        "crypto not a list",
        {"allowed_crypto_currencies": "ETH"},
        "parameter_invalid_array",
        "allowed_crypto_currencies",
    ),
    (
        "bad crypto symbol",
        {"allowed_crypto_currencies": ["ET H"]},
        "string_pattern_mismatch",
        "allowed_crypto_currencies[0]",
    ),
    ("empty networks", {"allowed_networks": []}, "parameter_invalid_empty", "allowed_networks"),
    (
        "bad network key",
        {"allowed_networks": ["Main Net"]},
        "string_pattern_mismatch",
        "allowed_networks[0]",
    ),
    ("relative success_url", {"success_url": "/ok"}, "url_invalid", "success_url"),
    ("ftp cancel_url", {"cancel_url": "ftp://shop.example/x"}, "url_invalid", "cancel_url"),
    (
        "credentials in url",
        {"success_url": "https://user:pw@shop.example/ok"},
        "url_invalid",
        "success_url",
    ),
    ("javascript url", {"success_url": "javascript:alert(1)"}, "url_invalid", "success_url"),
    ("success_url missing", {"success_url": None}, "parameter_missing", "success_url"),
    ("bad email", {"customer_email": "not-an-email"}, "email_invalid", "customer_email"),
    ("expires_in too short", {"expires_in": 59}, "parameter_out_of_range", "expires_in"),
    ("expires_in too long", {"expires_in": 86_401}, "parameter_out_of_range", "expires_in"),
    ("expires_in text", {"expires_in": "soon"}, "parameter_invalid_integer", "expires_in"),
    (
        "metadata 51 keys",
        {"metadata": {f"k{i}": "v" for i in range(51)}},
        "metadata_invalid",
        "metadata",
    ),
    ("metadata key 41 chars", {"metadata": {"k" * 41: "v"}}, "metadata_invalid", "metadata"),
    ("metadata value 501", {"metadata": {"k": "v" * 501}}, "metadata_invalid", "metadata"),
    (
        "metadata value number",
        {"metadata": {"k": 1}},
        "parameter_invalid_string",
        "metadata[k]",
    ),
    ("metadata not object", {"metadata": ["a"]}, "parameter_invalid_object", "metadata"),
    (
        "client_reference_id too long",
        {"client_reference_id": "x" * 201},
        "parameter_invalid_string",
        "client_reference_id",
    ),
    ("unknown field", {"amount": 5}, "parameter_unknown", "amount"),
    (
        "unknown nested field",
        {"metadata": {"a": {"b": "c"}}},
        "parameter_invalid_string",
        "metadata[a]",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "code", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_rule(
    client, merchant: MerchantKeys, overrides: dict[str, Any], code: str, param: str | None
) -> None:
    response = await client.post(
        "/v1/checkout/sessions", json=session_body(**overrides), headers=merchant.auth()
    )
    await assert_error(response, 400, INVALID, code, param)


async def test_live_mode_requires_https(client, merchant: MerchantKeys) -> None:
    body = session_body(success_url="http://shop.example/ok")
    response = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth(True))
    await assert_error(response, 400, INVALID, "url_invalid", "success_url")


async def test_test_mode_allows_http(client, merchant: MerchantKeys) -> None:
    body = session_body(success_url="http://localhost:3000/ok")
    response = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth())
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("currency", "amount", "cents", "shown"),
    [
        ("eur", "50.00", 5000, "50.00"),
        ("JPY", "1050", 1050, "1050"),
        ("KWD", "1.234", 1234, "1.234"),
        ("usd", "7", 700, "7.00"),
        ("EUR", "50.000", 5000, "50.00"),
    ],
)
async def test_exponent_aware_amounts(
    client, merchant: MerchantKeys, currency: str, amount: str, cents: int, shown: str
) -> None:
    body = session_body(currency=currency, amount_fiat=amount)
    response = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth())
    session = await response.get_json()
    assert response.status_code == 200, session
    assert (session["amount_fiat_cents"], session["amount_fiat"]) == (cents, shown)
    assert session["fiat_currency"] == currency.upper()


async def test_amount_in_minor_units(client, merchant: MerchantKeys) -> None:
    body = session_body(amount_fiat=None, amount_fiat_cents=1999)
    response = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth())
    assert (await response.get_json())["amount_fiat"] == "19.99"


# ---- malformed requests: always a clear 4xx, never a 5xx ----


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "body_invalid"),
        (b"[1, 2]", "application/json", 400, "body_invalid"),
        (b"\xff\xfe", "application/json", 400, "body_invalid"),
        (b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json", 400, "body_invalid"),
        (b'{"amount_fiat_cents": ' + b"9" * 5000 + b"}", "application/json", 400, "body_invalid"),
        (
            b"a[b][c][d][e][f][g][h][i][j]=1",
            "application/x-www-form-urlencoded",
            400,
            "body_invalid",
        ),
        (b"<xml/>", "application/xml", 415, "content_type_unsupported"),
        (b"hello", "text/plain", 415, "content_type_unsupported"),
    ],
    ids=["broken", "array", "not utf-8", "deep", "huge int", "deep form", "xml", "text"],
)
async def test_malformed_bodies(
    client, merchant: MerchantKeys, data: bytes, content_type: str, status: int, code: str
) -> None:
    response = await client.post(
        "/v1/checkout/sessions",
        data=data,
        headers={**merchant.auth(), "Content-Type": content_type},
    )
    await assert_error(response, status, INVALID, code, None)


async def test_oversized_body_is_413(client, merchant: MerchantKeys) -> None:
    body = session_body(metadata={"k": "v" * 70_000})
    response = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth())
    await assert_error(response, 413, INVALID, "body_too_large", None)


async def test_form_encoded_body_with_brackets(client, merchant: MerchantKeys) -> None:
    form = (
        "amount_fiat=12.34&currency=usd&allowed_crypto_currencies[0]=eth"
        "&allowed_crypto_currencies[1]=usdc&allowed_networks[]=devnet"
        "&success_url=https%3A%2F%2Fshop.example%2Fok&cancel_url=https%3A%2F%2Fshop.example%2Fc"
        "&metadata[order_id]=42&expires_in=600"
    )
    response = await client.post(
        "/v1/checkout/sessions",
        data=form.encode(),
        headers={**merchant.auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    session = await response.get_json()
    assert response.status_code == 200, session
    assert session["allowed_crypto_currencies"] == ["ETH", "USDC"]
    assert session["metadata"] == {"order_id": "42"}
    assert unix_time(session["expires_at"]) - unix_time(session["created_at"]) == 600


async def test_unknown_route_and_method_use_the_envelope(client, merchant: MerchantKeys) -> None:
    await assert_error(
        await client.get("/v1/nothing", headers=merchant.auth()),
        404,
        INVALID,
        "resource_missing",
        None,
    )
    await assert_error(
        await client.delete("/v1/checkout/sessions", headers=merchant.auth()),
        405,
        INVALID,
        "method_not_allowed",
        None,
    )
