"""Payment creation and session validation refusals, retrieval, and `/v1/networks`."""

from __future__ import annotations

import pytest

from app.models import Merchant
from tests.api.helpers import unix_time
from tests.chain import DEVNET, DevChain
from tests.conftest import new_merchant
from tests.networks.conftest import Api

pytestmark = pytest.mark.chain


async def _error(api: Api, session_id: str, currency: str, network: str = DEVNET) -> dict:
    status, body = await api.payment(session_id, currency, network)
    assert status == 400, body
    return body["error"]


async def test_payment_for_a_pair_the_session_does_not_allow(api: Api, registry) -> None:
    session = await api.session(allowed_crypto_currencies=["ETH"])
    error = await _error(api, session["id"], "USDC")
    assert (error["code"], error["param"]) == ("crypto_currency_not_allowed", "crypto_currency")
    error = await _error(api, session["id"], "ETH", "sepolia")
    assert (error["code"], error["param"]) == ("network_not_allowed", "network")


async def test_payment_refused_without_payout_address(api: Api, registry) -> None:
    session = await api.session()
    await Merchant.filter(id=api.shop.merchant.id).update(payout_addresses={})
    error = await _error(api, session["id"], "ETH")
    assert (error["code"], error["param"]) == ("payout_address_missing", "network")
    assert "payout address" in error["message"]


async def test_payment_for_closed_session_and_unknown_session(api: Api, registry) -> None:
    session = await api.session()
    status, _ = await api.call("POST", f"/v1/checkout/sessions/{session['id']}/expire")
    assert status == 200
    error = await _error(api, session["id"], "ETH")
    assert error["code"] == "checkout_session_not_open"
    status, body = await api.payment("cs_test_nope", "ETH")
    assert status == 404 and body["error"]["code"] == "resource_missing"


async def test_payment_body_is_validated(api: Api, registry) -> None:
    session = await api.session()
    status, body = await api.call(
        "POST", f"/v1/checkout/sessions/{session['id']}/payments", {"network": DEVNET}
    )
    assert status == 400 and body["error"]["param"] == "crypto_currency"


@pytest.mark.parametrize(
    ("overrides", "livemode", "code", "param"),
    [
        ({"allowed_networks": ["nowhere"]}, False, "network_unavailable", "allowed_networks"),
        ({}, True, "network_mode_mismatch", "allowed_networks"),
        (
            {"allowed_crypto_currencies": ["DAI"]},
            False,
            "crypto_currency_unsupported",
            "allowed_crypto_currencies",
        ),
    ],
)
async def test_session_creation_checks_networks(
    api: Api, registry, overrides: dict, livemode: bool, code: str, param: str
) -> None:
    body = {
        "amount_fiat": "25.00",
        "currency": "USD",
        "allowed_crypto_currencies": ["ETH"],
        "allowed_networks": [DEVNET],
        "success_url": "https://shop.example/ok",
        "cancel_url": "https://shop.example/cancel",
        **overrides,
    }
    status, data = await api.call("POST", "/v1/checkout/sessions", body, livemode)
    assert status == 400, data
    assert (data["error"]["code"], data["error"]["param"]) == (code, param)


async def test_session_creation_needs_a_payout_address(client, registry) -> None:
    broke = await new_merchant(payouts={})
    api = Api(client, broke)
    status, data = await api.call(
        "POST",
        "/v1/checkout/sessions",
        {
            "amount_fiat": "1.00",
            "currency": "USD",
            "allowed_crypto_currencies": ["ETH"],
            "allowed_networks": [DEVNET],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/cancel",
        },
    )
    assert status == 400
    assert (data["error"]["code"], data["error"]["param"]) == (
        "payout_address_missing",
        "allowed_networks",
    )


async def test_payments_are_scoped_to_their_merchant(
    api: Api, client, chain: DevChain, registry
) -> None:
    session = await api.session()
    _, payment = await api.payment(session["id"], "USDC")
    assert (await api.get(f"/v1/payments/{payment['id']}"))["id"] == payment["id"]
    other = Api(client, await new_merchant(payouts={DEVNET: chain.merchant}))
    status, body = await other.call("GET", f"/v1/payments/{payment['id']}")
    assert status == 404
    status, body = await api.call("GET", f"/v1/payments/{payment['id']}", livemode=True)
    assert status == 404


async def test_payment_quote_and_intent_are_locked(api: Api, chain: DevChain, registry) -> None:
    session = await api.session(amount_fiat="10.00", currency="EUR")
    _, payment = await api.payment(session["id"], "ETH")
    # 10.00 EUR at 1850 EUR/ETH = 0.0054054… ETH, rounded up to ETH's display precision
    # (a millionth): the shopper sees and sends 0.005406 ETH, and the intent says the same.
    assert payment["quote"]["rate"] == "1850" and payment["quote"]["source"] == "operator"
    assert int(payment["amount_base_units"]) == 5_406 * 10**12
    assert payment["amount_crypto"] == "0.005406"
    assert unix_time(payment["expires_at"]) <= unix_time(session["expires_at"]) + 5
    assert f"@{chain.node.chain_id}?value={payment['value']}" in payment["eip681_uri"]
    again = await api.get(f"/v1/payments/{payment['id']}")
    assert again == payment
    session_now = await api.get(f"/v1/checkout/sessions/{session['id']}")
    assert session_now["payment_id"] == payment["id"]


async def test_networks_endpoint_by_mode(api: Api, chain: DevChain, registry) -> None:
    test_mode = await api.get("/v1/networks")
    [devnet] = test_mode["data"]
    assert devnet["id"] == DEVNET and devnet["testnet"] is True
    assert devnet["chain_id"] == chain.node.chain_id
    assert devnet["crypto_currencies"] == ["ETH", "USDC", "USDT"]
    assert devnet["watcher"]["status"] in {"starting", "running"}
    status, live = await api.call("GET", "/v1/networks", livemode=True)
    assert status == 200 and live["data"] == []


async def test_openapi_documents_payments_and_networks(api: Api, registry) -> None:
    from app.api.schemas import NetworkList, PaymentObject

    document = await api.get("/v1/openapi.json")
    assert document["paths"]["/v1/checkout/sessions/{session_id}/payments"]["post"]
    assert document["paths"]["/v1/payments/{payment_id}"]["get"]
    assert document["paths"]["/v1/networks"]["get"]
    session = await api.session()
    _, payment = await api.payment(session["id"], "USDT")
    PaymentObject.model_validate(payment)  # the documented shape is the real one
    NetworkList.model_validate(await api.get("/v1/networks"))
