"""`line_items` on create (JSON, forms, the stripe library) and GET …/line_items."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from app.models import CheckoutSession, LineItem
from tests.api.helpers import assert_error, session_body
from tests.conftest import LiveServer, MerchantKeys, new_merchant

INVALID = "invalid_request_error"


def item(
    name: str = "Tea",
    unit_amount: int | str | None = 1250,
    quantity: int | str = 1,
    currency: str = "eur",
    **price: Any,
) -> dict[str, Any]:
    """One Stripe-shaped line item; `price` adds to or (value None) drops from price_data."""
    price_data: dict[str, Any] = {
        "currency": currency,
        "unit_amount": unit_amount,
        "product_data": {"name": name},
        **price,
    }
    return {
        "price_data": {key: value for key, value in price_data.items() if value is not None},
        "quantity": quantity,
    }


def items_body(items: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    return session_body(**{"amount_fiat": None, "currency": None, "line_items": items, **overrides})


async def create(client: Any, merchant: MerchantKeys, body: dict[str, Any], **headers: str) -> Any:
    return await client.post(
        "/v1/checkout/sessions", json=body, headers={**merchant.auth(), **headers}
    )


async def created(client: Any, merchant: MerchantKeys, body: dict[str, Any]) -> dict[str, Any]:
    response = await create(client, merchant, body)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def line_items(client: Any, merchant: MerchantKeys, session_id: str, query: str = "") -> Any:
    return await client.get(
        f"/v1/checkout/sessions/{session_id}/line_items{query}", headers=merchant.auth()
    )


async def test_total_is_computed_and_items_are_stored_and_listed(
    client: Any, merchant: MerchantKeys
) -> None:
    body = items_body(
        [
            item("Earl Grey", 1250, 2, product_data={"name": "Earl Grey", "description": "Loose"}),
            item("Scone", 350, 3),
        ]
    )
    session = await created(client, merchant, body)
    assert session["amount_fiat_cents"] == 2 * 1250 + 3 * 350
    assert session["amount_fiat"] == "35.50"
    assert session["fiat_currency"] == "EUR"

    rows = await LineItem.filter(session_id=session["id"]).order_by("position")
    assert [(r.position, r.name, r.quantity, r.amount_total) for r in rows] == [
        (0, "Earl Grey", 2, 2500),
        (1, "Scone", 3, 1050),
    ]
    assert all(r.id.startswith("li_") and r.currency == "EUR" for r in rows)

    response = await line_items(client, merchant, session["id"])
    assert response.status_code == 200
    listed = await response.get_json()
    assert listed["object"] == "list"
    assert listed["url"] == f"/v1/checkout/sessions/{session['id']}/line_items"
    assert listed["has_more"] is False
    assert listed["data"] == [
        {
            "id": rows[0].id,
            "object": "item",
            "description": "Earl Grey",
            "quantity": 2,
            "currency": "EUR",
            "amount_subtotal": 2500,
            "amount_total": 2500,
            "price": {
                "unit_amount": 1250,
                "currency": "EUR",
                "product_data": {"name": "Earl Grey", "description": "Loose"},
            },
        },
        {
            "id": rows[1].id,
            "object": "item",
            "description": "Scone",
            "quantity": 3,
            "currency": "EUR",
            "amount_subtotal": 1050,
            "amount_total": 1050,
            "price": {
                "unit_amount": 350,
                "currency": "EUR",
                "product_data": {"name": "Scone", "description": None},
            },
        },
    ]


async def test_form_body_in_stripe_bracket_notation(client: Any, merchant: MerchantKeys) -> None:
    form = {
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "500",
        "line_items[0][price_data][product_data][name]": "Onigiri",
        "line_items[0][price_data][product_data][description]": "Salmon",
        "line_items[0][quantity]": "4",
        "line_items[1][price_data][currency]": "USD",
        "line_items[1][price_data][unit_amount_decimal]": "120",
        "line_items[1][price_data][product_data][name]": "Green tea",
        "line_items[1][quantity]": "1",
        "allowed_crypto_currencies[0]": "ETH",
        "allowed_networks[0]": "devnet",
        "success_url": "https://shop.example/ok",
        "cancel_url": "https://shop.example/cancel",
    }
    response = await client.post("/v1/checkout/sessions", form=form, headers=merchant.auth())
    session = await response.get_json()
    assert response.status_code == 200, session
    assert (session["fiat_currency"], session["amount_fiat_cents"]) == ("USD", 2120)
    assert session["amount_fiat"] == "21.20"
    listed = await (await line_items(client, merchant, session["id"])).get_json()
    assert [(i["description"], i["price"]["unit_amount"]) for i in listed["data"]] == [
        ("Onigiri", 500),
        ("Green tea", 120),
    ]


async def test_fiat_currency_may_be_given_and_must_match(
    client: Any, merchant: MerchantKeys
) -> None:
    same = await created(client, merchant, items_body([item()], fiat_currency="eur"))
    assert same["fiat_currency"] == "EUR"
    alias = await created(client, merchant, items_body([item()], currency="EUR"))
    assert alias["fiat_currency"] == "EUR"
    other = await create(client, merchant, items_body([item(), item()], fiat_currency="USD"))
    body = await assert_error(
        other, 400, INVALID, "currency_mismatch", "line_items[0][price_data][currency]"
    )
    assert "fiat_currency is USD" in body["error"]["message"]


async def test_zero_priced_items_count_when_the_total_is_positive(
    client: Any, merchant: MerchantKeys
) -> None:
    session = await created(client, merchant, items_body([item("Gift wrap", 0), item()]))
    assert session["amount_fiat_cents"] == 1250


INVALID_ITEMS: list[tuple[str, list[dict[str, Any]], dict[str, Any], str, str | None]] = [
    # (case id, line_items, other overrides, code, param)
    (
        "mixed currencies",
        [item(), item(currency="usd")],
        {},
        "currency_mismatch",
        "line_items[1][price_data][currency]",
    ),
    (
        "a currency no price source quotes",
        [item(currency="mnt")],
        {},
        "currency_unsupported",
        "line_items[0][price_data][currency]",
    ),
    (
        "unknown item currency",
        [item(currency="xyz")],
        {},
        "currency_invalid",
        "line_items[0][price_data][currency]",
    ),
    ("with amount_fiat", [item()], {"amount_fiat": "12.50"}, "parameters_exclusive", "amount_fiat"),
    (
        "with amount_fiat_cents",
        [item()],
        {"amount_fiat_cents": 1250},
        "parameters_exclusive",
        "amount_fiat_cents",
    ),
    ("empty list", [], {}, "parameter_invalid_empty", "line_items"),
    ("101 items", [item()] * 101, {}, "parameter_too_many_items", "line_items"),
    ("quantity 0", [item(quantity=0)], {}, "parameter_out_of_range", "line_items[0][quantity]"),
    (
        "quantity 10000",
        [item(), item(quantity=10_000)],
        {},
        "parameter_out_of_range",
        "line_items[1][quantity]",
    ),
    (
        "quantity text",
        [item(quantity="two")],
        {},
        "parameter_invalid_integer",
        "line_items[0][quantity]",
    ),
    (
        "quantity missing",
        [{"price_data": item()["price_data"]}],
        {},
        "parameter_missing",
        "line_items[0][quantity]",
    ),
    ("price_data missing", [{"quantity": 1}], {}, "parameter_missing", "line_items[0][price_data]"),
    (
        "name missing",
        [item(product_data={"description": "no name"})],
        {},
        "parameter_missing",
        "line_items[0][price_data][product_data][name]",
    ),
    (
        "name empty",
        [item(name="")],
        {},
        "parameter_invalid_empty",
        "line_items[0][price_data][product_data][name]",
    ),
    (
        "name 251 characters",
        [item(name="n" * 251)],
        {},
        "parameter_invalid_string",
        "line_items[0][price_data][product_data][name]",
    ),
    (
        "description 501 characters",
        [item(product_data={"name": "Tea", "description": "d" * 501})],
        {},
        "parameter_invalid_string",
        "line_items[0][price_data][product_data][description]",
    ),
    (
        "unit_amount negative",
        [item(unit_amount=-1)],
        {},
        "parameter_out_of_range",
        "line_items[0][price_data][unit_amount]",
    ),
    (
        "unit_amount as decimal text",
        [item(unit_amount="12.50")],
        {},
        "parameter_invalid_integer",
        "line_items[0][price_data][unit_amount]",
    ),
    (
        "unit_amount missing",
        [item(unit_amount=None)],
        {},
        "parameter_missing",
        "line_items[0][price_data][unit_amount]",
    ),
    (
        "unit_amount and unit_amount_decimal",
        [item(unit_amount_decimal="1250")],
        {},
        "parameters_exclusive",
        "line_items[0][price_data][unit_amount]",
    ),
    (
        "fraction of a minor unit",
        [item(unit_amount=None, unit_amount_decimal="1250.5")],
        {},
        "amount_precision_invalid",
        "line_items[0][price_data][unit_amount_decimal]",
    ),
    (
        "unit_amount_decimal not a number",
        [item(unit_amount=None, unit_amount_decimal="lots")],
        {},
        "amount_invalid",
        "line_items[0][price_data][unit_amount_decimal]",
    ),
    (
        "unit_amount_decimal huge",
        [item(unit_amount=None, unit_amount_decimal="1e400")],
        {},
        "parameter_out_of_range",
        "line_items[0][price_data][unit_amount_decimal]",
    ),
    (
        "unit_amount_decimal infinite",
        [item(unit_amount=None, unit_amount_decimal="Infinity")],
        {},
        "parameter_out_of_range",
        "line_items[0][price_data][unit_amount_decimal]",
    ),
    ("total zero", [item(unit_amount=0)], {}, "amount_too_small", "line_items"),
    (
        "total too large",
        [item(unit_amount=999_999_999_999, quantity=2)],
        {},
        "amount_too_large",
        "line_items",
    ),
    (
        "unknown price field",
        [item(recurring={"interval": "month"})],
        {},
        "parameter_unknown",
        "line_items[0][price_data][recurring]",
    ),
    (
        "a Stripe price id",  # Kassa has no Price objects: items carry their price_data
        [{"price": "price_123", "quantity": 1}],
        {},
        "parameter_missing",
        "line_items[0][price_data]",
    ),
    ("not a list", {"0": item()}, {}, "parameter_invalid_array", "line_items"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(
    ("items", "overrides", "code", "param"),
    [case[1:] for case in INVALID_ITEMS],
    ids=[case[0] for case in INVALID_ITEMS],
)
async def test_invalid_line_items_are_a_400_naming_the_parameter(
    client: Any,
    merchant: MerchantKeys,
    items: list[dict[str, Any]],
    overrides: dict[str, Any],
    code: str,
    param: str | None,
) -> None:
    before = await CheckoutSession.filter(merchant_id=merchant.merchant.id).count()
    response = await create(client, merchant, items_body(items, **overrides))
    await assert_error(response, 400, INVALID, code, param)
    assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == before


async def test_unit_amount_decimal_of_whole_minor_units(
    client: Any, merchant: MerchantKeys
) -> None:
    body = items_body([item(unit_amount=None, unit_amount_decimal="1250.00", quantity=2)])
    session = await created(client, merchant, body)
    assert session["amount_fiat_cents"] == 2500


async def test_pagination_by_position(client: Any, merchant: MerchantKeys) -> None:
    names = [f"Item {n}" for n in range(5)]
    session = await created(client, merchant, items_body([item(name) for name in names]))
    ids = [r.id for r in await LineItem.filter(session_id=session["id"]).order_by("position")]

    async def page(query: str) -> dict[str, Any]:
        response = await line_items(client, merchant, session["id"], query)
        assert response.status_code == 200, await response.get_data(as_text=True)
        return await response.get_json()

    first = await page("?limit=2")
    assert [i["id"] for i in first["data"]] == ids[:2] and first["has_more"] is True
    second = await page(f"?limit=2&starting_after={ids[1]}")
    assert [i["id"] for i in second["data"]] == ids[2:4] and second["has_more"] is True
    last = await page(f"?limit=2&starting_after={ids[3]}")
    assert [i["id"] for i in last["data"]] == ids[4:] and last["has_more"] is False
    before = await page(f"?limit=2&ending_before={ids[4]}")
    assert [i["id"] for i in before["data"]] == ids[2:4] and before["has_more"] is True
    start = await page(f"?limit=2&ending_before={ids[1]}")
    assert [i["id"] for i in start["data"]] == ids[:1] and start["has_more"] is False
    everything = await page("?limit=100")
    assert [i["description"] for i in everything["data"]] == names


async def test_list_parameter_errors(client: Any, merchant: MerchantKeys) -> None:
    session = await created(client, merchant, items_body([item(), item()]))
    other = await created(client, merchant, items_body([item()]))
    foreign_item = (await LineItem.get(session_id=other["id"])).id
    own_item = (await LineItem.filter(session_id=session["id"]).first()).id  # type: ignore[union-attr]
    for query, code, param in [
        (f"?starting_after={foreign_item}", "resource_missing", "starting_after"),
        ("?ending_before=li_nope", "resource_missing", "ending_before"),
        (
            f"?starting_after={own_item}&ending_before={own_item}",
            "parameters_exclusive",
            "ending_before",
        ),
        ("?limit=0", "parameter_out_of_range", "limit"),
        ("?limit=101", "parameter_out_of_range", "limit"),
        ("?created[gte]=0", "parameter_unknown", "created"),
    ]:
        response = await line_items(client, merchant, session["id"], query)
        await assert_error(response, 400, INVALID, code, param)


async def test_line_items_are_owner_and_mode_scoped(client: Any, merchant: MerchantKeys) -> None:
    session = await created(client, merchant, items_body([item()]))
    stranger = await new_merchant("Stranger")
    for headers in (merchant.auth(livemode=True), stranger.auth()):
        response = await client.get(
            f"/v1/checkout/sessions/{session['id']}/line_items", headers=headers
        )
        await assert_error(response, 404, INVALID, "resource_missing", "id")
    unauthenticated = await client.get(f"/v1/checkout/sessions/{session['id']}/line_items")
    assert unauthenticated.status_code == 401


async def test_a_session_with_a_plain_amount_has_no_line_items(
    client: Any, merchant: MerchantKeys
) -> None:
    session = await created(client, merchant, session_body())
    listed = await (await line_items(client, merchant, session["id"])).get_json()
    assert (listed["data"], listed["has_more"]) == ([], False)


async def test_idempotent_replay_is_byte_for_byte_and_stores_the_items_once(
    client: Any, merchant: MerchantKeys
) -> None:
    body = items_body([item(), item("Cake", 400, 2)])
    first = await create(client, merchant, body, **{"Idempotency-Key": "order-41"})
    again = await create(client, merchant, body, **{"Idempotency-Key": "order-41"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.get_data() == await first.get_data()
    session_id = (await first.get_json())["id"]
    assert await LineItem.filter(session_id=session_id).count() == 2
    changed = await create(
        client,
        merchant,
        items_body([item(), item("Cake", 400, 3)]),
        **{"Idempotency-Key": "order-41"},
    )
    assert changed.status_code == 400
    assert (await changed.get_json())["error"]["type"] == "idempotency_error"


async def test_session_and_items_are_written_together_or_not_at_all(
    client: Any, merchant: MerchantKeys
) -> None:
    """A failure while storing the items leaves no session behind (one transaction): the
    database itself refuses the line item, after the session's row went in."""
    db = LineItem._meta.db
    if db.capabilities.dialect == "sqlite":
        await db.execute_script(
            "CREATE TRIGGER refuse_line_items BEFORE INSERT ON line_items "
            "BEGIN SELECT RAISE(ABORT, 'the database went away'); END;"
        )
    else:
        await db.execute_script(
            "CREATE FUNCTION refuse_line_item() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the database went away'; END $$; "
            "CREATE TRIGGER refuse_line_items BEFORE INSERT ON line_items "
            "FOR EACH ROW EXECUTE FUNCTION refuse_line_item();"
        )
    try:
        before = await CheckoutSession.filter(merchant_id=merchant.merchant.id).count()
        for headers in ({}, {"Idempotency-Key": "order-42"}):
            response = await create(client, merchant, items_body([item()]), **headers)
            assert response.status_code == 500
            assert await CheckoutSession.filter(merchant_id=merchant.merchant.id).count() == before
    finally:
        await db.execute_script(
            "DROP TRIGGER refuse_line_items"
            + (
                ""
                if db.capabilities.dialect == "sqlite"
                else " ON line_items; DROP FUNCTION refuse_line_item()"
            )
        )


def _drive_stripe(base_url: str, secret: str) -> None:
    client = stripe.StripeClient(
        api_key=secret, base_addresses={"api": base_url}, max_network_retries=0
    )
    session = client.v1.checkout.sessions.create(
        # Kassa's own fields (amount via line_items, allowed_*) ride along as params.
        params={  # type: ignore[arg-type]
            "mode": "payment",
            "locale": "fr",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 1500,
                        "product_data": {"name": f"Book {n}", "description": "Paperback"},
                    },
                    "quantity": n + 1,
                }
                for n in range(12)
            ],
            "allowed_crypto_currencies": ["ETH"],
            "allowed_networks": ["devnet"],
            "success_url": "https://shop.example/ok?id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.example/cancel",
        },
        options={"idempotency_key": "stripe-lib-line-items"},
    )
    assert session["amount_fiat_cents"] == 1500 * sum(range(1, 13))
    assert session["mode"] == "payment"
    page = client.v1.checkout.sessions.line_items.list(session.id, params={"limit": 5})
    assert len(page.data) == 5 and page.has_more
    listed = list(page.auto_paging_iter())
    assert [i.description for i in listed] == [f"Book {n}" for n in range(12)]
    assert [i.quantity for i in listed] == list(range(1, 13))
    assert listed[0]["price"]["unit_amount"] == 1500


async def test_official_stripe_library_creates_and_lists_line_items(
    live_server: LiveServer, merchant: MerchantKeys
) -> None:
    await asyncio.to_thread(_drive_stripe, live_server.base_url, merchant.test_secret)
