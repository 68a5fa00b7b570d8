"""The objects and event bodies are exactly the documented ones (issue 11, items 1 and 3).

A session and a payment from the API, and the webhook bodies of a real payment on the devnet,
are compared field by field (no extra, none missing, JSON types) with the shapes written here,
and those shapes with the examples in docs/api.md and docs/webhooks.md, so the docs, the API
and this test cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.objects import iso_time
from app.states import EventType, SessionStatus
from app.watcher import ChainWatcher
from app.webhooks.worker import DeliveryWorker
from tests.api.helpers import ISO_TIME, assert_error, create_session, unix_time
from tests.chain import DevChain
from tests.conftest import MerchantKeys
from tests.networks.conftest import (  # noqa: F401 - the devnet fixtures, used by name
    Api,
    api,
    chain,
    deployed_chain,
    devnet_node,
    make_registry,
    registry,
    shop,
    watcher,
)
from tests.webhooks.conftest import (  # noqa: F401 - webhook receivers, used by name
    clean_endpoints,
    create_endpoint,
    fast_settings,
    private_targets,
    receivers,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"

# A field's JSON kinds: Python types compared exactly (a bool is no int), None for null,
# TIME for a timestamp string ("2025-11-23T13:05:00Z").
TIME = "time"
Kinds = tuple[Any, ...]

SESSION_FIELDS: dict[str, Kinds] = {
    "id": (str,),
    "object": (str,),
    "livemode": (bool,),
    "status": (str,),
    "mode": (str,),
    "amount_fiat": (str,),
    "amount_fiat_cents": (int,),
    "fiat_currency": (str,),
    "allowed_crypto_currencies": (list,),
    "allowed_networks": (list,),
    "payment_id": (str, None),
    "success_url": (str,),
    "cancel_url": (str,),
    "customer_email": (str, None),
    "client_reference_id": (str, None),
    "metadata": (dict,),
    "locale": (str,),
    "checkout_url": (str,),
    "expires_at": (TIME,),
    "created_at": (TIME,),
    "updated_at": (TIME,),
}

PAYMENT_FIELDS: dict[str, Kinds] = {
    "id": (str,),
    "object": (str,),
    "livemode": (bool,),
    "status": (str,),
    "session": (str,),
    "amount_fiat": (str,),
    "amount_fiat_cents": (int,),
    "fiat_currency": (str,),
    "amount_crypto": (str,),
    "amount_base_units": (str,),
    "crypto_currency": (str,),
    "decimals": (int,),
    "network": (str,),
    "token_address": (str, None),
    "quote": (dict,),
    "recipient": (str,),
    "deposit_address": (str, None),
    "deposit_terms": (dict, None),
    "amount_received": (str,),
    "late": (bool,),
    "fee_base_units": (str,),
    "to_contract": (str,),
    "data": (str,),
    "value": (str,),
    "approve": (dict, None),
    "eip681_uri": (str,),
    "min_confirmations": (int,),
    "expires_at": (TIME,),
    "tx_hash": (str, None),
    "block_number": (int, None),
    "payer": (str, None),
    "confirmations": (int,),
    "created_at": (TIME,),
    "updated_at": (TIME,),
}
REFUND_FIELDS: dict[str, Kinds] = {
    "id": (str,),
    "object": (str,),
    "livemode": (bool,),
    "status": (str,),
    "payment": (str,),
    "amount_crypto": (str,),
    "amount_base_units": (str,),
    "crypto_currency": (str,),
    "decimals": (int,),
    "network": (str,),
    "token_address": (str, None),
    "reason": (str, None),
    "metadata": (dict,),
    "claim_url": (str,),
    "address": (str, None),
    "from_address": (str,),
    "tx_hash": (str, None),
    "block_number": (int, None),
    "created_at": (TIME,),
    "updated_at": (TIME,),
}
QUOTE_FIELDS: dict[str, Kinds] = {"rate": (str,), "source": (str,), "at": (TIME, None)}

# What a payment event says of its session.
SESSION_SUMMARY_FIELDS: dict[str, Kinds] = {
    "id": (str,),
    "status": (str,),
    "metadata": (dict,),
    "client_reference_id": (str, None),
}
EVENT_FIELDS: dict[str, Kinds] = {
    "id": (str,),
    "object": (str,),
    "type": (str,),
    "created_at": (TIME,),
    "livemode": (bool,),
    "data": (dict,),
    "request": (dict,),
}


def _is_kind(value: Any, kind: Any) -> bool:
    if kind is None:
        return value is None
    if kind == TIME:
        return isinstance(value, str) and ISO_TIME.match(value) is not None
    return type(value) is kind


def assert_shape(obj: dict[str, Any], fields: dict[str, Kinds], what: str) -> None:
    extra, missing = set(obj) - set(fields), set(fields) - set(obj)
    assert not extra and not missing, f"{what}: extra {sorted(extra)}, missing {sorted(missing)}"
    for name, kinds in fields.items():
        assert any(_is_kind(obj[name], kind) for kind in kinds), (what, name, obj[name])


def documented_examples(doc: str) -> list[dict[str, Any]]:
    """The JSON examples of a doc page (``` json blocks that are whole JSON objects)."""
    examples = []
    for block in re.findall(r"```json\n(.*?)```", (DOCS / doc).read_text(), re.DOTALL):
        try:
            parsed = json.loads(block)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            examples.append(parsed)
    return examples


def documented(doc: str, **match: str) -> dict[str, Any]:
    """The one example in `doc` whose top-level fields have the given values; an answer that
    wraps its object (`{"payment": {...}}`) counts as the object."""
    examples = [
        e[next(iter(e))] if len(e) == 1 and isinstance(next(iter(e.values())), dict) else e
        for e in documented_examples(doc)
    ]
    found = [e for e in examples if all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"{doc}: {len(found)} examples with {match}"
    return found[0]


def test_one_helper_formats_every_time() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert iso_time(dt.datetime(2025, 11, 23, 14, 5, 0, 999_999, paris)) == "2025-11-23T13:05:00Z"
    assert iso_time(dt.datetime(2025, 11, 23, 13, 5)) == "2025-11-23T13:05:00Z"  # naive = UTC
    assert iso_time(1_763_903_100) == "2025-11-23T13:05:00Z"  # chain time, Unix seconds
    # No chain clock, however wrong, makes rendering fail.
    assert iso_time(-1) == "1970-01-01T00:00:00Z"
    assert iso_time(10**20) == "9999-12-31T23:59:59Z"
    assert iso_time(dt.datetime(5, 1, 1, tzinfo=dt.UTC)) == "0005-01-01T00:00:00Z"


# ---- checkout sessions ------------------------------------------------------------------


def test_the_docs_show_the_documented_objects() -> None:
    session = documented("api.md", object="checkout.session")
    assert_shape(session, SESSION_FIELDS, "docs/api.md session")
    payment = documented("api.md", object="payment")
    assert_shape(payment, PAYMENT_FIELDS, "docs/api.md payment")
    assert_shape(payment["quote"], QUOTE_FIELDS, "docs/api.md payment.quote")
    assert_shape(documented("api.md", object="refund"), REFUND_FIELDS, "docs/api.md refund")


async def test_session_object_is_the_documented_one(client, merchant: MerchantKeys) -> None:
    created = await create_session(
        client,
        merchant,
        amount_fiat="50.00",
        currency=None,
        fiat_currency="eur",
        mode="payment",
        customer_email="shopper@example.com",
        client_reference_id="order-42",
        metadata={"order_id": "42"},
    )
    response = await client.get(f"/v1/checkout/sessions/{created['id']}", headers=merchant.auth())
    session = await response.get_json()
    assert response.status_code == 200, session
    assert session == created
    assert_shape(session, SESSION_FIELDS, "retrieved session")
    assert session["object"] == "checkout.session" and session["mode"] == "payment"
    assert session["fiat_currency"] == "EUR" and session["locale"] == "auto"
    assert session["amount_fiat"] == "50.00" and session["amount_fiat_cents"] == 5000
    assert session["created_at"] == session["updated_at"]
    assert unix_time(session["expires_at"]) - unix_time(session["created_at"]) == 900

    listed = await (await client.get("/v1/checkout/sessions", headers=merchant.auth())).get_json()
    assert listed["data"][0] == session

    # Expiring it moves updated_at, never created_at.
    expired = await (
        await client.post(f"/v1/checkout/sessions/{session['id']}/expire", headers=merchant.auth())
    ).get_json()
    assert_shape(expired, SESSION_FIELDS, "expired session")
    assert expired["created_at"] == session["created_at"]
    assert unix_time(expired["updated_at"]) >= unix_time(session["updated_at"])


# ---- created[...] filters -------------------------------------------------------------


async def test_created_filters_take_unix_seconds_and_iso_times(
    client, merchant: MerchantKeys
) -> None:
    sessions = [await create_session(client, merchant) for _ in range(3)]
    at = sessions[1]["created_at"]  # e.g. "2025-11-23T13:05:00Z"
    seconds = unix_time(at)
    # The same instant in the ways ISO 8601 writes it: an offset, a fraction, no zone (UTC).
    spellings = [
        at,
        at.replace("Z", "+00:00"),
        at.replace("Z", ".999999Z"),
        at[:-1],
        _with_offset(seconds, hours=2),
        _with_offset(seconds, hours=-5),
    ]

    async def page(query: str) -> list[str]:
        response = await client.get(f"/v1/checkout/sessions?{query}", headers=merchant.auth())
        body = await response.get_json()
        assert response.status_code == 200, (query, body)
        return [s["id"] for s in body["data"]]

    for bound in ("gt", "gte", "lt", "lte"):
        unix_page = await page(f"created[{bound}]={seconds}&limit=100")
        for spelling in spellings:
            quoted = spelling.replace("+", "%2B")
            assert await page(f"created[{bound}]={quoted}&limit=100") == unix_page, spelling
    assert sessions[1]["id"] in await page(f"created={at}&limit=100")
    assert await page(f"created={at}&limit=100") == await page(f"created={seconds}&limit=100")

    events = f"/v1/events?created[gte]={at}"
    assert (await client.get(events, headers=merchant.auth())).status_code == 200


def _with_offset(seconds: int, hours: int) -> str:
    zone = dt.timezone(dt.timedelta(hours=hours))
    return dt.datetime.fromtimestamp(seconds, zone).isoformat()


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ("created[gte]=yesterday", "created[gte]", "parameter_invalid_timestamp"),
        ("created[lt]=2025-13-01T00:00:00Z", "created[lt]", "parameter_invalid_timestamp"),
        ("created[lte]=2025-11-23T25:00:00Z", "created[lte]", "parameter_invalid_timestamp"),
        ("created[gt]=2025-11-23T13:05:00Zulu", "created[gt]", "parameter_invalid_timestamp"),
        ("created=11/23/2025", "created[gte]", "parameter_invalid_timestamp"),
        # Beyond the last second of year 9999, or before 1970: out of range, never a 5xx.
        ("created[gte]=9999-12-31T23:59:59-01:00", "created[gte]", "parameter_out_of_range"),
        ("created[lt]=0001-01-01T00:00:00%2B14:00", "created[lt]", "parameter_out_of_range"),
        ("created[lte]=1969-12-31T23:59:59Z", "created[lte]", "parameter_out_of_range"),
    ],
)
async def test_bad_created_times_are_a_400_naming_the_param(
    client, merchant: MerchantKeys, query: str, param: str, code: str
) -> None:
    for path in ("/v1/checkout/sessions", "/v1/events"):
        response = await client.get(f"{path}?{query}", headers=merchant.auth())
        await assert_error(response, 400, "invalid_request_error", code, param)


async def test_year_9999_bounds_are_an_empty_page(client, merchant: MerchantKeys) -> None:
    await create_session(client, merchant)
    for query in (
        "created[gt]=9999-12-31T23:59:59Z",
        "created[gte]=9999-12-31T23:59:59.999999Z",
        "created[lte]=1970-01-01T00:00:00Z",
    ):
        response = await client.get(f"/v1/checkout/sessions?{query}", headers=merchant.auth())
        assert response.status_code == 200, await response.get_json()
        assert (await response.get_json())["data"] == []


# ---- payments, events and webhook bodies --------------------------------------------


def assert_event_shape(body: dict[str, Any], what: str) -> None:
    assert_shape(body, EVENT_FIELDS, what)
    assert body["object"] == "event"
    data = body["data"]
    if body["type"].startswith("payment."):
        assert set(data) == {"object", "payment", "checkout_session"}, what
        assert data["payment"] == data["object"], what
        assert_shape(data["payment"], PAYMENT_FIELDS, f"{what} data.payment")
        assert_shape(data["checkout_session"], SESSION_SUMMARY_FIELDS, f"{what} checkout_session")
        assert data["checkout_session"]["id"] == data["payment"]["session"]
        assert data["checkout_session"]["status"] in set(SessionStatus)
    else:
        assert body["type"].startswith("checkout.session."), what
        assert set(data) == {"object", "checkout_session"}, what
        assert data["checkout_session"] == data["object"], what
        assert_shape(data["checkout_session"], SESSION_FIELDS, f"{what} data.checkout_session")


def key_tree(value: Any, opaque: frozenset[str] = frozenset({"metadata", "deposit_terms"})) -> Any:
    """The nested field names of a JSON value (the values inside `opaque` fields vary)."""
    if isinstance(value, dict):
        return {k: None if k in opaque else key_tree(v) for k, v in value.items()}
    return None


def test_every_event_type_is_documented_with_its_data_keys() -> None:
    webhooks = (DOCS / "webhooks.md").read_text()
    for event_type in EventType:
        keys = "`object`, `payment`, `checkout_session`"
        if event_type.startswith("checkout.session."):
            keys = "`object`, `checkout_session`"
        elif event_type.startswith("refund."):
            keys = "`object`, `refund`"
        elif event_type in (
            EventType.MERCHANT_PAYOUT_ADDRESS_UPDATED,
            EventType.WEBHOOK_ENDPOINT_TEST,
        ):
            keys = "`object`"
        assert re.search(rf"\| `{re.escape(event_type)}` \| {keys} \|", webhooks), event_type


@pytest.mark.chain
@pytest.mark.usefixtures("private_targets", "clean_endpoints")
async def test_payment_object_and_webhook_bodies_are_documented(
    client,
    api: Api,  # noqa: F811 - the fixtures imported above
    chain: DevChain,  # noqa: F811
    watcher: ChainWatcher,  # noqa: F811
    receivers,  # noqa: F811
    database_url: str,
) -> None:
    receiver = await receivers()
    endpoint = await create_endpoint(client, api.shop, receiver.url(), ["*"])
    assert ISO_TIME.match(endpoint["created_at"]) and "created" not in endpoint
    session = await api.session(metadata={"order_id": "42"}, client_reference_id="order-42")
    status, created = await api.payment(session["id"], "ETH")
    assert status == 200, created
    payment = await api.get(f"/v1/payments/{created['id']}")
    assert payment == created
    assert_shape(payment, PAYMENT_FIELDS, "retrieved payment")
    assert_shape(payment["quote"], QUOTE_FIELDS, "payment.quote")
    assert payment["fiat_currency"] == "USD" and payment["status"] == "pending"
    assert payment["created_at"] == payment["updated_at"]
    assert payment["quote"]["at"] is not None

    await watcher.poll_once()
    await chain.pay(payment)
    assert (await watcher.poll_once()).confirmed == [payment["id"]]
    confirmed = await api.get(f"/v1/payments/{payment['id']}")
    assert_shape(confirmed, PAYMENT_FIELDS, "confirmed payment")
    assert confirmed["created_at"] == payment["created_at"]
    assert unix_time(confirmed["updated_at"]) >= unix_time(payment["updated_at"])

    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    bodies = {}
    for request in receiver.requests:
        body = json.loads(request.body)
        bodies[body["type"]] = body
        assert_event_shape(body, f"webhook {body['type']}")
        # The API shows the same event as the webhook delivered it.
        assert await api.get(f"/v1/events/{body['id']}") == body
    assert set(bodies) == {
        "payment.created",
        "payment.pending",
        "payment.confirmed",
        "checkout.session.completed",
    }
    paid = bodies["payment.confirmed"]["data"]
    assert paid["payment"]["status"] == "confirmed" and paid["payment"]["id"] == payment["id"]
    assert paid["checkout_session"]["metadata"] == {"order_id": "42"}
    assert paid["checkout_session"]["client_reference_id"] == "order-42"
    completed = bodies["checkout.session.completed"]["data"]["checkout_session"]
    assert completed["status"] == "completed" and completed["payment_id"] == payment["id"]

    # Deliveries and their attempts show times the same way.
    deliveries = await api.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries")
    assert len(deliveries["data"]) == 4
    for delivery in deliveries["data"]:
        assert delivery["status"] == "succeeded" and delivery["next_attempt_at"] is None
        assert ISO_TIME.match(delivery["created_at"]) and ISO_TIME.match(delivery["completed_at"])
        assert [ISO_TIME.match(a["started_at"]) is not None for a in delivery["attempts"]] == [True]

    # docs/webhooks.md's full examples have exactly these fields, level by level.
    for event_type in ("payment.confirmed", "checkout.session.completed"):
        example = documented("webhooks.md", type=event_type)
        assert_event_shape(example, f"docs/webhooks.md {event_type}")
        assert key_tree(example) == key_tree(bodies[event_type]), event_type
