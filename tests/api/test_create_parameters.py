"""The documented create parameters: fiat_currency (and Stripe's `currency`), mode, locale."""

from __future__ import annotations

from typing import Any

import pytest

from app.models import CheckoutSession
from tests.api.helpers import assert_error, session_body
from tests.conftest import MerchantKeys

INVALID = "invalid_request_error"


async def create(client: Any, merchant: MerchantKeys, **overrides: Any) -> Any:
    return await client.post(
        "/v1/checkout/sessions", json=session_body(**overrides), headers=merchant.auth()
    )


async def stored(response: Any) -> CheckoutSession:
    body = await response.get_json()
    assert response.status_code == 200, body
    return await CheckoutSession.get(id=body["id"])


@pytest.mark.parametrize(
    "currencies",
    [
        {"currency": None, "fiat_currency": "usd"},  # the documented name, any case
        {"currency": "usd"},  # Stripe's name
        {"currency": "USD", "fiat_currency": "usd"},  # both, naming the same currency
    ],
)
async def test_fiat_currency_or_its_stripe_alias(
    client: Any, merchant: MerchantKeys, currencies: dict[str, Any]
) -> None:
    response = await create(client, merchant, **currencies)
    session = await stored(response)
    assert session.fiat_currency == "USD"
    assert (await response.get_json())["fiat_currency"] == "USD"


@pytest.mark.parametrize(
    ("overrides", "code", "param"),
    [
        ({"currency": "EUR", "fiat_currency": "USD"}, "parameters_exclusive", "currency"),
        # No price source in the test app quotes Mongolian tögrög.
        ({"currency": None, "fiat_currency": "mnt"}, "currency_unsupported", "fiat_currency"),
        ({"currency": "mnt"}, "currency_unsupported", "currency"),
        ({"currency": None}, "parameter_missing", "fiat_currency"),
        ({"currency": None, "fiat_currency": "XYZ"}, "currency_invalid", "fiat_currency"),
        ({"currency": "XYZ"}, "currency_invalid", "currency"),
        ({"currency": None, "fiat_currency": "EURO"}, "parameter_invalid_string", "fiat_currency"),
        ({"currency": None, "fiat_currency": 978}, "parameter_invalid_string", "fiat_currency"),
    ],
)
async def test_currency_errors_name_the_parameter_sent(
    client: Any, merchant: MerchantKeys, overrides: dict[str, Any], code: str, param: str
) -> None:
    response = await create(client, merchant, **overrides)
    await assert_error(response, 400, INVALID, code, param)


async def test_form_body_with_fiat_currency_mode_and_locale(
    client: Any, merchant: MerchantKeys
) -> None:
    form = {
        "amount_fiat_cents": "1999",
        "fiat_currency": "usd",
        "mode": "payment",
        "locale": "de-CH",
        "allowed_crypto_currencies[0]": "ETH",
        "allowed_networks[0]": "devnet",
        "success_url": "https://shop.example/ok",
        "cancel_url": "https://shop.example/cancel",
    }
    response = await client.post("/v1/checkout/sessions", form=form, headers=merchant.auth())
    session = await stored(response)
    assert (session.fiat_currency, session.amount_fiat_cents) == ("USD", 1999)
    assert (session.mode, session.locale) == ("payment", "de")


async def test_mode_payment_is_accepted_and_stored(client: Any, merchant: MerchantKeys) -> None:
    explicit = await stored(await create(client, merchant, mode="payment"))
    default = await stored(await create(client, merchant))
    assert explicit.mode == default.mode == "payment"
    assert (await (await create(client, merchant, mode="payment")).get_json())["mode"] == "payment"


@pytest.mark.parametrize("mode", ["subscription", "setup", "Payment", ""])
async def test_other_modes_are_refused(client: Any, merchant: MerchantKeys, mode: str) -> None:
    body = await assert_error(
        await create(client, merchant, mode=mode), 400, INVALID, "mode_unsupported", "mode"
    )
    assert '"payment"' in body["error"]["message"]


async def test_mode_must_be_a_string(client: Any, merchant: MerchantKeys) -> None:
    await assert_error(
        await create(client, merchant, mode=["payment"]),
        400,
        INVALID,
        "parameter_invalid_string",
        "mode",
    )


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (None, "auto"),
        ("auto", "auto"),
        ("AUTO", "auto"),
        ("de", "de"),
        ("FR", "fr"),
        ("de-CH", "de"),
        ("pt_BR", "pt"),
        ("es-419", "es"),
        ("it", "it"),
        ("en-GB", "en"),
        ("de-CH-1996", "de"),
    ],
)
async def test_locale_is_stored_normalised(
    client: Any, merchant: MerchantKeys, sent: str | None, kept: str
) -> None:
    session = await stored(await create(client, merchant, locale=sent))
    assert session.locale == kept


@pytest.mark.parametrize("locale", ["ja", "xx", "de-", "deu", "de CH", "", "zh-Hant-TW", " ", "*"])
async def test_unknown_locales_are_refused(
    client: Any, merchant: MerchantKeys, locale: str
) -> None:
    body = await assert_error(
        await create(client, merchant, locale=locale), 400, INVALID, "locale_unsupported", "locale"
    )
    assert "de, fr" in body["error"]["message"]


async def test_openapi_documents_the_create_parameters(client: Any) -> None:
    document = await (await client.get("/v1/openapi.json")).get_json()
    properties = document["components"]["schemas"]["CheckoutSessionCreate"]["properties"]
    assert {"fiat_currency", "currency", "mode", "locale", "line_items"} <= set(properties)
    assert properties["mode"]["enum"] == ["payment"]
    assert "currency" not in document["components"]["schemas"]["CheckoutSessionCreate"].get(
        "required", []
    )
