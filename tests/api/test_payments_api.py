"""`POST /v1/checkout/sessions/{id}/payments` and `GET /v1/payments` on a real chain.

One pending payment per option (the API and the hosted page's Pay share `create_payment`,
sequential and simultaneous), a replaced payment expired unless something of it was seen,
the `{"payment": …}` answer, the hosted page's own authority, and the list with its filters.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from app.api.schemas import PaymentCreated, PaymentList
from app.models import CheckoutSession, Event, Payment, RateLimit
from app.networks import Registry
from app.watcher import ChainWatcher
from tests.api.helpers import assert_error, unix_time
from tests.chain import DEVNET, DevChain
from tests.conftest import new_merchant
from tests.networks.conftest import (  # noqa: F401 - the devnet fixtures
    Api,
    RegistryFactory,
    api,
    chain,
    deployed_chain,
    devnet_node,
    event_types,
    make_registry,
    registry,
    shop,
)

pytestmark = pytest.mark.chain


def payments_path(session_id: str) -> str:
    return f"/v1/checkout/sessions/{session_id}/payments"


@pytest.fixture
async def full_buckets(app: Quart) -> Any:
    """The page's payment limits are database rows every test client address shares."""
    await RateLimit.all().delete()
    yield
    await RateLimit.all().delete()


@pytest.fixture
def deposit_registry(make_registry: RegistryFactory, chain: DevChain) -> Registry:  # noqa: F811
    # Three confirmations: a seen transaction stays pending for a while.
    return make_registry(
        deposit_factory=chain.deposit_factory, sweeper_key=chain.sweeper_key, confirmations=3
    )


@pytest.fixture
def watcher(deposit_registry: Registry) -> ChainWatcher:
    return ChainWatcher(deposit_registry.networks[DEVNET], deposit_registry)


async def created_payments(session_id: str) -> list[Payment]:
    return await Payment.filter(session_id=session_id).order_by("created_at")


async def session_payment_id(session_id: str) -> str | None:
    return (await CheckoutSession.get(id=session_id)).payment_id


# ----------------------------------------------------------------------------- the answer


async def test_create_answers_the_documented_payment_envelope(api: Api, registry) -> None:  # noqa: F811
    session = await api.session()
    status, body = await api.call(
        "POST", payments_path(session["id"]), {"network": DEVNET, "crypto_currency": "USDC"}
    )
    assert status == 200, body
    assert list(body) == ["payment"]
    PaymentCreated.model_validate(body)
    payment = body["payment"]
    assert payment["object"] == "payment" and payment["status"] == "pending"
    assert payment["session"] == session["id"] and payment["fiat_currency"] == "USD"
    assert await api.get(f"/v1/payments/{payment['id']}") == payment


# ----------------------------------------------------------------------------- reuse


async def test_two_calls_for_the_same_option_make_one_payment(api: Api, registry) -> None:  # noqa: F811
    session = await api.session()
    _, first = await api.payment(session["id"], "ETH")
    _, second = await api.payment(session["id"], "eth")
    assert second == first  # the same payment, the same locked quote
    assert [p.id for p in await created_payments(session["id"])] == [first["id"]]
    assert await event_types(first["id"]) == ["payment.created"]
    assert await session_payment_id(session["id"]) == first["id"]


async def test_simultaneous_calls_for_the_same_option_make_one_payment(
    api: Api,  # noqa: F811
    registry,  # noqa: F811
) -> None:
    session = await api.session()
    answers = await asyncio.gather(*(api.payment(session["id"], "USDC") for _ in range(4)))
    assert {status for status, _ in answers} == {200}, answers
    ids = {payment["id"] for _, payment in answers}
    assert len(ids) == 1
    assert [p.id for p in await created_payments(session["id"])] == list(ids)
    assert await session_payment_id(session["id"]) in ids
    assert await Event.filter(type="payment.created", object_id__in=list(ids)).count() == 1


async def test_a_payment_with_too_little_window_left_is_replaced(
    api: Api,  # noqa: F811
    chain: DevChain,  # noqa: F811
    registry,  # noqa: F811
) -> None:
    session = await api.session()
    _, first = await api.payment(session["id"], "ETH")
    # Chain time 30 s before its deadline: too late to start paying it.
    await chain.set_next_timestamp(unix_time(first["expires_at"]) - 30)
    await chain.mine(1)
    _, second = await api.payment(session["id"], "ETH")
    assert second["id"] != first["id"]
    assert (await Payment.get(id=first["id"])).status == "expired"
    assert await event_types(first["id"]) == ["payment.created", "payment.expired"]
    assert await session_payment_id(session["id"]) == second["id"]


# ----------------------------------------------------------------------------- supersede


async def test_switching_option_expires_the_first_payment(api: Api, registry) -> None:  # noqa: F811
    session = await api.session()
    _, eth = await api.payment(session["id"], "ETH")
    _, usdc = await api.payment(session["id"], "USDC")
    assert usdc["id"] != eth["id"]
    assert (await api.get(f"/v1/payments/{eth['id']}"))["status"] == "expired"
    assert await event_types(eth["id"]) == ["payment.created", "payment.expired"]
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["payment_id"] == usdc["id"]
    [expired] = await Event.filter(object_id=eth["id"], type="payment.expired")
    assert expired.data["object"]["status"] == "expired"
    # And back: a new ETH payment (the first one is gone), the USDC one expired in turn.
    _, eth_again = await api.payment(session["id"], "ETH")
    assert eth_again["id"] not in (eth["id"], usdc["id"])
    assert (await Payment.get(id=usdc["id"])).status == "expired"


async def test_a_payment_whose_transaction_was_seen_is_not_expired_by_a_switch(
    api: Api,  # noqa: F811
    chain: DevChain,  # noqa: F811
    watcher: ChainWatcher,
) -> None:
    session = await api.session()
    _, eth = await api.payment(session["id"], "ETH")
    await watcher.poll_once()
    await chain.pay(eth)
    assert (await watcher.poll_once()).attached == [eth["id"]]
    _, usdc = await api.payment(session["id"], "USDC")
    kept = await Payment.get(id=eth["id"])
    assert kept.status == "pending" and kept.tx_hash is not None
    assert "payment.expired" not in await event_types(eth["id"])
    assert await session_payment_id(session["id"]) == usdc["id"]
    # The watcher still confirms it: the money was on its way.
    await chain.mine(3)
    await watcher.poll_once()
    assert (await Payment.get(id=eth["id"])).status == "confirmed"
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "completed"


async def test_a_payment_with_money_at_its_deposit_address_is_not_expired_by_a_switch(
    api: Api,  # noqa: F811
    chain: DevChain,  # noqa: F811
    watcher: ChainWatcher,
) -> None:
    session = await api.session()
    _, usdc = await api.payment(session["id"], "USDC")
    await watcher.poll_once()
    token = chain.token_address("usdc")
    await chain.transfer(usdc["deposit_address"], int(usdc["amount_base_units"]) // 2, token)
    await chain.mine(2)
    await watcher.poll_once()
    assert (await Payment.get(id=usdc["id"])).amount_received > 0
    _, eth = await api.payment(session["id"], "ETH")
    assert (await Payment.get(id=usdc["id"])).status == "pending"
    assert "payment.expired" not in await event_types(usdc["id"])
    assert await session_payment_id(session["id"]) == eth["id"]


async def test_money_in_time_at_a_replaced_payments_deposit_address_completes_the_session(
    api: Api,  # noqa: F811
    chain: DevChain,  # noqa: F811
    watcher: ChainWatcher,
) -> None:
    """The shopper switched to ETH but sent USDC to the first payment's address anyway,
    within its window: the money is on time (its quote holds) and pays the open session,
    as a contract payment of it would (tests/networks/test_replaced_payments.py)."""
    session = await api.session()
    _, usdc = await api.payment(session["id"], "USDC")
    _, eth = await api.payment(session["id"], "ETH")
    assert (await Payment.get(id=usdc["id"])).status == "expired"
    await watcher.poll_once()
    token = chain.token_address("usdc")
    total = int(usdc["amount_base_units"]) + int(usdc["fee_base_units"])
    await chain.transfer(usdc["deposit_address"], total, token)
    await chain.mine(3)
    await watcher.poll_once()
    done = await api.get(f"/v1/payments/{usdc['id']}")
    assert done["status"] == "confirmed" and done["late"] is False
    paid = await api.get(f"/v1/checkout/sessions/{session['id']}")
    assert paid["status"] == "completed" and paid["payment_id"] == usdc["id"]


async def test_money_after_a_replaced_payments_window_confirms_it_late(
    api: Api,  # noqa: F811
    chain: DevChain,  # noqa: F811
    watcher: ChainWatcher,
) -> None:
    """After its window the replaced payment's quote no longer holds: the money is the
    merchant's and reported late; the session waits for its current payment."""
    session = await api.session(expires_in=3600)
    _, usdc = await api.payment(session["id"], "USDC")
    _, eth = await api.payment(session["id"], "ETH")
    await watcher.poll_once()
    await chain.set_next_timestamp(unix_time(usdc["expires_at"]) + 1)
    await chain.mine(1)
    token = chain.token_address("usdc")
    total = int(usdc["amount_base_units"]) + int(usdc["fee_base_units"])
    await chain.transfer(usdc["deposit_address"], total, token)
    await chain.mine(3)
    await watcher.poll_once()
    done = await api.get(f"/v1/payments/{usdc['id']}")
    assert done["status"] == "confirmed" and done["late"] is True
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "open"


# ----------------------------------------------------------------------------- the hosted page


async def page_token(client: Client, session_id: str) -> str:
    """What the shopper's browser holds after opening the page: its cookie and token."""
    response = await client.get(f"/checkout/{session_id}")
    assert response.status_code == 200
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', await response.get_data(True))
    assert match, "no CSRF field on the page"
    return match.group(1)


async def press_pay(client: Client, session_id: str, token: str, option: str) -> int:
    response = await client.post(
        f"/checkout/{session_id}/pay", form={"csrf_token": token, "option": option}
    )
    return response.status_code


async def test_two_presses_of_pay_on_the_page_make_one_payment(
    api: Api,  # noqa: F811
    client: Client,
    registry,  # noqa: F811
    full_buckets: None,
) -> None:
    session = await api.session()
    token = await page_token(client, session["id"])
    assert await press_pay(client, session["id"], token, f"{DEVNET}:ETH") == 303
    assert await press_pay(client, session["id"], token, f"{DEVNET}:ETH") == 303
    [payment] = await created_payments(session["id"])
    # Simultaneous presses (a double click, two tabs): still the one payment. (Five presses
    # in all: the session's burst of the page's payment limit.)
    statuses = await asyncio.gather(
        *(press_pay(client, session["id"], token, f"{DEVNET}:ETH") for _ in range(2))
    )
    assert set(statuses) == {303}
    assert [p.id for p in await created_payments(session["id"])] == [payment.id]
    # Another option on the page replaces it.
    assert await press_pay(client, session["id"], token, f"{DEVNET}:USDC") == 303
    first, second = await created_payments(session["id"])
    assert (first.id, first.status, second.status) == (payment.id, "expired", "pending")
    assert await session_payment_id(session["id"]) == second.id


async def test_simultaneous_first_presses_on_the_page_make_one_payment(
    api: Api,  # noqa: F811
    client: Client,
    registry,  # noqa: F811
    full_buckets: None,
) -> None:
    session = await api.session()
    token = await page_token(client, session["id"])
    statuses = await asyncio.gather(
        *(press_pay(client, session["id"], token, f"{DEVNET}:USDC") for _ in range(3))
    )
    assert set(statuses) == {303}
    assert len(await created_payments(session["id"])) == 1


async def test_the_page_creates_its_sessions_payment_through_the_api_with_its_token(
    api: Api,  # noqa: F811
    client: Client,
    registry,  # noqa: F811
    full_buckets: None,
) -> None:
    session = await api.session()
    token = await page_token(client, session["id"])
    body = {"network": DEVNET, "crypto_currency": "ETH"}
    response = await client.post(
        payments_path(session["id"]), json=body, headers={"X-CSRF-Token": token}
    )
    answer = await response.get_json()
    assert response.status_code == 200, answer
    PaymentCreated.model_validate(answer)
    # The no-JS way: the token as a form field; the same pending payment comes back.
    response = await client.post(payments_path(session["id"]), form={**body, "csrf_token": token})
    assert response.status_code == 200
    assert (await response.get_json())["payment"]["id"] == answer["payment"]["id"]
    assert await session_payment_id(session["id"]) == answer["payment"]["id"]


async def test_a_page_token_authorises_its_own_session_only(
    api: Api,  # noqa: F811
    client: Client,
    registry,  # noqa: F811
    full_buckets: None,
) -> None:
    mine = await api.session()
    other = await api.session()
    token = await page_token(client, mine["id"])
    await page_token(client, other["id"])  # the browser has opened both pages
    body = {"network": DEVNET, "crypto_currency": "ETH"}

    async def attempt(session_id: str, headers: dict[str, str]) -> Any:
        return await client.post(payments_path(session_id), json=body, headers=headers)

    await assert_error(
        await attempt(other["id"], {"X-CSRF-Token": token}),
        401,
        "authentication_error",
        "api_key_missing",
        None,
    )
    await assert_error(
        await attempt(mine["id"], {}), 401, "authentication_error", "api_key_missing", None
    )
    await assert_error(
        await attempt(mine["id"], {"X-CSRF-Token": "0" * 64}),
        401,
        "authentication_error",
        "api_key_missing",
        None,
    )
    # Without the browser's cookie the token is worth nothing.
    stranger = client.app.test_client()  # type: ignore[attr-defined]
    response = await stranger.post(
        payments_path(mine["id"]), json=body, headers={"X-CSRF-Token": token}
    )
    await assert_error(response, 401, "authentication_error", "api_key_missing", None)
    # A cross-site request carrying the cookie and a stolen token is refused too.
    await assert_error(
        await attempt(mine["id"], {"X-CSRF-Token": token, "Origin": "https://evil.example"}),
        401,
        "authentication_error",
        "api_key_missing",
        None,
    )
    # A key, when given, decides alone: a wrong one is refused even with a good token.
    await assert_error(
        await attempt(mine["id"], {"X-CSRF-Token": token, "Authorization": "Bearer sk_test_x"}),
        401,
        "authentication_error",
        "api_key_invalid",
        None,
    )
    assert await Payment.filter(session_id__in=[mine["id"], other["id"]]).count() == 0


async def test_the_pages_api_calls_share_its_payment_rate_limit(
    app: Quart,
    api: Api,  # noqa: F811
    client: Client,
    registry,  # noqa: F811
    full_buckets: None,
) -> None:
    settings = app.config["KASSA_SETTINGS"]
    app.config["KASSA_SETTINGS"] = settings.model_copy(
        update={
            "checkout_payments_per_session_burst": 2,
            "checkout_payments_per_session_refill_seconds": 3600.0,
        }
    )
    try:
        session = await api.session()
        token = await page_token(client, session["id"])
        assert await press_pay(client, session["id"], token, f"{DEVNET}:ETH") == 303
        response = await client.post(
            payments_path(session["id"]),
            json={"network": DEVNET, "crypto_currency": "ETH"},
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code == 200
        response = await client.post(
            payments_path(session["id"]),
            json={"network": DEVNET, "crypto_currency": "ETH"},
            headers={"X-CSRF-Token": token},
        )
        await assert_error(response, 429, "rate_limit_error", "rate_limit", None)
        assert int(response.headers["Retry-After"]) > 0
        # The merchant's key is not the page: its own limits apply.
        status, _ = await api.payment(session["id"], "ETH")
        assert status == 200
    finally:
        app.config["KASSA_SETTINGS"] = settings


# ----------------------------------------------------------------------------- the list


async def test_list_payments_with_filters_and_pagination(
    api: Api,  # noqa: F811
    client: Client,
    chain: DevChain,  # noqa: F811
    registry,  # noqa: F811
) -> None:
    first_session = await api.session()
    _, eth = await api.payment(first_session["id"], "ETH")
    _, usdc = await api.payment(first_session["id"], "USDC")  # expires the ETH one
    second_session = await api.session()
    _, usdt = await api.payment(second_session["id"], "USDT")
    newest_first = [usdt["id"], usdc["id"], eth["id"]]

    page = await api.get("/v1/payments")
    PaymentList.model_validate(page)
    assert page["url"] == "/v1/payments" and page["has_more"] is False
    assert [p["id"] for p in page["data"]] == newest_first

    async def ids(query: str) -> list[str]:
        return [p["id"] for p in (await api.get(f"/v1/payments?{query}"))["data"]]

    assert await ids("status=expired") == [eth["id"]]
    assert await ids("status=pending") == [usdt["id"], usdc["id"]]
    assert await ids(f"checkout_session={first_session['id']}") == [usdc["id"], eth["id"]]
    assert await ids(f"network={DEVNET}&status=pending&limit=1") == [usdt["id"]]
    assert await ids("network=ethereum") == []
    assert await ids("checkout_session=cs_test_none") == []
    created = unix_time(eth["created_at"])
    assert await ids(f"created[gte]={created}") == newest_first
    assert await ids(f"created[lt]={created}") == []

    one = await api.get("/v1/payments?limit=1")
    assert one["has_more"] is True and [p["id"] for p in one["data"]] == newest_first[:1]
    rest = await api.get(f"/v1/payments?limit=2&starting_after={newest_first[0]}")
    assert [p["id"] for p in rest["data"]] == newest_first[1:] and rest["has_more"] is False
    back = await api.get(f"/v1/payments?ending_before={newest_first[2]}")
    assert [p["id"] for p in back["data"]] == newest_first[:2]

    # Scoped to the caller's merchant and mode.
    status, live = await api.call("GET", "/v1/payments", livemode=True)
    assert status == 200 and live["data"] == []
    stranger = Api(client, await new_merchant(payouts={DEVNET: chain.merchant}))
    assert (await stranger.get("/v1/payments"))["data"] == []


@pytest.mark.parametrize(
    ("query", "code", "param"),
    [
        ("colour=red", "parameter_unknown", "colour"),
        ("status=paid", "parameter_invalid_value", "status"),
        ("network=Not%20a%20network", "string_pattern_mismatch", "network"),
        ("limit=0", "parameter_out_of_range", "limit"),
    ],
)
async def test_list_payments_refuses_bad_filters(
    api: Api,  # noqa: F811
    registry,  # noqa: F811
    query: str,
    code: str,
    param: str,
) -> None:
    response = await api.client.get(f"/v1/payments?{query}", headers=api.shop.auth())
    body = await assert_error(response, 400, "invalid_request_error", code, param)
    assert body["error"]["param"] == param


async def test_list_payments_needs_a_key(client: Client, registry) -> None:  # noqa: F811
    response = await client.get("/v1/payments")
    await assert_error(response, 401, "authentication_error", "api_key_missing", None)
