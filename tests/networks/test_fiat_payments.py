"""Prices in any currency, end to end: a GBP session paid in USDC on the devnet through the
ECB's cross rate, short exact amounts on the page and on chain, and currencies no source can
price refused when the session is created."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest
import respx
from quart.typing import TestClientProtocol as Client

from app.money import base_units_to_decimal
from app.quotes import divide_rates
from app.watcher import ChainWatcher
from tests.api.helpers import assert_error, session_body
from tests.chain import DEVNET, DevChain
from tests.conftest import MerchantKeys
from tests.networks.conftest import Api, RegistryFactory, event_types
from tests.networks.test_fiat_rates import ecb_xml

ECB_URL = "https://ecb.test/stats/eurofxref/eurofxref-daily.xml"


def stablecoins(chain: DevChain) -> list[dict[str, Any]]:
    """The devnet's test stablecoins with the real ones' display precision (cents)."""
    return [
        {
            "symbol": symbol,
            "address": chain.token_address(symbol.lower()),
            "decimals": 6,
            "display_decimals": 2,
        }
        for symbol in ("USDC", "USDT")
    ]


async def gbp_session(api: Api, amount: str = "25.00") -> dict[str, Any]:
    status, session = await api.call(
        "POST",
        "/v1/checkout/sessions",
        {
            "amount_fiat": amount,
            "fiat_currency": "GBP",
            "allowed_crypto_currencies": ["ETH", "USDC"],
            "allowed_networks": [DEVNET],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/cancel",
        },
    )
    assert status == 200, session
    assert session["fiat_currency"] == "GBP"
    return dict(session)


@pytest.mark.chain
async def test_gbp_session_paid_in_usdc_through_the_ecb_rate(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    registry = make_registry(tokens=stablecoins(chain), settings_overrides={"ecb_url": ECB_URL})
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    with respx.mock:
        ecb = respx.get(ECB_URL).mock(return_value=httpx.Response(200, text=ecb_xml()))
        session = await gbp_session(api)
        assert ecb.call_count == 0  # creation decides from what sources declare, no fetch
        # The page's preview shows what Pay will lock: short, exact amounts.
        preview = f"/checkout/{session['id']}/preview?option={DEVNET}:"
        headers = {"HX-Request": "true"}
        usdc = await (await api.client.get(preview + "USDC", headers=headers)).get_data(True)
        assert "33.08 USDC" in usdc
        eth = await (await api.client.get(preview + "ETH", headers=headers)).get_data(True)
        # 25.00 GBP at 2000 USD/ETH × 0.75594… GBP/USD = 0.0165355… ETH, up to 6 places.
        assert "0.016536 ETH" in eth
        status, payment = await api.payment(session["id"], "USDC")
    assert status == 200, payment
    # USDC/GBP = the USD peg × the ECB's USD/GBP (GBP per euro ÷ USD per euro).
    rate = divide_rates(Decimal("0.87720"), Decimal("1.1604"))
    assert payment["quote"]["source"] == "stablecoin-peg×ecb"
    assert Decimal(payment["quote"]["rate"]) == rate
    # 25.00 GBP ÷ 0.75594… = 33.0711… USDC, rounded up to the cent: 33.08 USDC.
    exact = Fraction(25) / Fraction(rate)
    assert Fraction("33.07") < exact < Fraction("33.08")
    assert payment["amount_crypto"] == "33.08"
    assert payment["amount_base_units"] == "33080000"
    assert payment["fiat_currency"] == "GBP" and payment["amount_fiat"] == "25.00"
    # The same integer is approved, signed into the intent and put in the wallet URI.
    assert payment["approve"]["amount"] == "33080000"
    assert payment["eip681_uri"].endswith("uint256=33080000")
    # The hosted page's pay step shows the short amount.
    page = await (await api.client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert "33.08</output> USDC" in page

    await watcher.poll_once()
    tx_hash = await chain.pay(payment)
    step = await watcher.poll_once()
    assert step.confirmed == [payment["id"]]
    paid = await api.get(f"/v1/payments/{payment['id']}")
    assert paid["status"] == "confirmed" and paid["tx_hash"] == tx_hash
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "completed"
    assert await event_types(payment["id"]) == [
        "payment.created",
        "payment.pending",
        "payment.confirmed",
    ]


@pytest.mark.chain
async def test_operator_fiat_rate_prices_eth_in_gbp_at_display_precision(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    """No ECB (turned off): the operator's fixed USD/GBP rate crosses ETH/USD."""
    make_registry(
        settings_overrides={
            "ecb_enabled": False,
            "fixed_rates": {"ETH/USD": "2000", "USD/GBP": "0.79"},
        }
    )
    session = await gbp_session(api, amount="42.70")
    status, payment = await api.payment(session["id"], "ETH")
    assert status == 200, payment
    assert payment["quote"]["source"] == "operator×operator"
    assert payment["quote"]["rate"] == "1580.00"
    # 42.70 / 1580 = 0.0270253… ETH: 0.027026 ETH, the integer a wallet sends.
    assert payment["amount_crypto"] == "0.027026"
    assert payment["amount_base_units"] == str(27_026 * 10**12) == payment["value"]
    assert f"value={payment['value']}" in payment["eip681_uri"]
    assert base_units_to_decimal(int(payment["value"]), 18) == "0.027026"
    # GBP is refused once nothing can price it for the allowed currencies.
    make_registry(settings_overrides={"ecb_enabled": False, "fixed_rates": {"ETH/USD": "2000"}})
    status, body = await api.call(
        "POST",
        "/v1/checkout/sessions",
        session_body(currency=None, fiat_currency="GBP", allowed_crypto_currencies=["ETH"]),
    )
    assert status == 400 and body["error"]["code"] == "currency_unsupported", body


async def test_a_currency_no_source_prices_is_refused_at_creation(
    client: Client, merchant: MerchantKeys
) -> None:
    with respx.mock:  # nothing is fetched to decide (any request would fail here)
        response = await client.post(
            "/v1/checkout/sessions",
            json=session_body(currency=None, fiat_currency="XAF", amount_fiat="5000"),
            headers=merchant.auth(),
        )
    body = await assert_error(
        response, 400, "invalid_request_error", "currency_unsupported", "fiat_currency"
    )
    assert "XAF" in body["error"]["message"]
    # Through Stripe's alias, the error names the parameter the request used.
    response = await client.post(
        "/v1/checkout/sessions",
        json=session_body(currency="xaf", amount_fiat="5000"),
        headers=merchant.auth(),
    )
    body = await assert_error(
        response, 400, "invalid_request_error", "currency_unsupported", "currency"
    )
    assert "XAF" in body["error"]["message"]


@pytest.mark.parametrize(
    ("currency", "allowed"),
    [
        ("GBP", ["USDC"]),  # the USD peg × the ECB (declared; never fetched to decide)
        ("CHF", ["ETH"]),  # ETH/USD × the ECB's USD/CHF
        ("KWD", ["USDC"]),  # the operator's USD/KWD (the ECB does not publish KWD)
        ("EUR", ["ETH"]),  # a direct rate
    ],
)
async def test_currencies_some_route_prices_are_accepted(
    client: Client, merchant: MerchantKeys, currency: str, allowed: list[str]
) -> None:
    with respx.mock:
        response = await client.post(
            "/v1/checkout/sessions",
            json=session_body(
                currency=None, fiat_currency=currency, allowed_crypto_currencies=allowed
            ),
            headers=merchant.auth(),
        )
    assert response.status_code == 200, await response.get_data(as_text=True)
