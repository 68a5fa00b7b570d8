"""`app.search`: the filters the dashboard lists, the exports and the API share.

Parsing (clear errors naming the parameter), and each filter and search target on SQLite and
PostgreSQL, always scoped to one merchant and one mode.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import CheckoutSession, Payment
from app.search import FilterError, PaymentFilters, SessionFilters
from tests.conftest import MerchantKeys, new_merchant
from tests.records import make_payment, make_session

# ----------------------------------------------------------------------------- parsing


def test_empty_values_are_no_filter() -> None:
    filters = PaymentFilters.parse(
        {"status": "", "network": " ", "token": "", "query": "", "cursor": "x"}
    )
    assert filters == PaymentFilters()
    assert not filters.active


def test_parse_normalises_values() -> None:
    filters = PaymentFilters.parse(
        {
            "status": "Confirmed",
            "network": "polygon",
            "token": "usdc",
            "created_from": "2026-12-01",
            "created_to": "2026-12-02T10:30:00+01:00",
            "query": "  order-42 ",
        }
    )
    assert filters.status == "confirmed"
    assert filters.token == "USDC"
    assert filters.created_from == dt.date(2026, 12, 1)
    assert filters.created_to == dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
    assert filters.query == "order-42"
    assert filters.active
    # The same filters again as query parameters (export and page links).
    assert PaymentFilters.parse(filters.as_params()) == filters


def test_a_time_without_offset_is_utc() -> None:
    filters = SessionFilters.parse({"created_from": "2026-12-01T10:00"})
    assert filters.created_from == dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"status": "paid"}, "status"),
        ({"status": "completed"}, "status"),  # a session status, not a payment's
        ({"network": "Poly gon"}, "network"),
        ({"token": "US$"}, "token"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_to": "2026-13-01"}, "created_to"),
        ({"created_from": "2026-12-02", "created_to": "2026-12-01"}, "created_to"),
        ({"query": "x" * 501}, "query"),
        ({"query": "a\x00b"}, "query"),
        ({"status": ["pending", "confirmed"]}, "status"),
    ],
)
def test_bad_values_name_their_parameter(params: dict, param: str) -> None:
    with pytest.raises(FilterError) as caught:
        PaymentFilters.parse(params)
    assert caught.value.param == param
    assert caught.value.message


def test_session_statuses_are_sessions() -> None:
    assert SessionFilters.parse({"status": "completed"}).status == "completed"
    with pytest.raises(FilterError):
        SessionFilters.parse({"status": "confirmed"})


def test_one_day_range_is_inclusive() -> None:
    filters = PaymentFilters.parse({"created_from": "2026-12-01", "created_to": "2026-12-01"})
    assert filters.created_from == filters.created_to


# ----------------------------------------------------------------------------- the database


async def payment_ids(filters: PaymentFilters, merchant_id: str, livemode: bool = False) -> set:
    query = filters.apply(Payment.all(), merchant_id=merchant_id, livemode=livemode)
    return set(await query.values_list("id", flat=True))


async def session_ids(filters: SessionFilters, merchant_id: str, livemode: bool = False) -> set:
    query = filters.apply(CheckoutSession.all(), merchant_id=merchant_id, livemode=livemode)
    return set(await query.values_list("id", flat=True))


async def test_payments_by_status_network_token(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    session = await make_session(mid)
    usdc = await make_payment(session, status="confirmed")
    eth = await make_payment(
        session, crypto_currency="ETH", token_address=None, decimals=18, network="ethereum"
    )
    assert await payment_ids(PaymentFilters(), mid) == {usdc.id, eth.id}
    assert await payment_ids(PaymentFilters(status="confirmed"), mid) == {usdc.id}
    assert await payment_ids(PaymentFilters(network="ethereum"), mid) == {eth.id}
    assert await payment_ids(PaymentFilters(token="USDC"), mid) == {usdc.id}
    assert await payment_ids(PaymentFilters(token="USDC", network="ethereum"), mid) == set()


async def test_scoped_to_merchant_and_mode(app, merchant: MerchantKeys) -> None:
    other = await new_merchant("Other")
    mine = await make_payment(await make_session(merchant.merchant.id, client_reference_id="r1"))
    live = await make_payment(
        await make_session(merchant.merchant.id, livemode=True, client_reference_id="r1")
    )
    theirs = await make_payment(await make_session(other.merchant.id, client_reference_id="r1"))
    search = PaymentFilters(query="r1")
    assert await payment_ids(search, merchant.merchant.id) == {mine.id}
    assert await payment_ids(search, merchant.merchant.id, livemode=True) == {live.id}
    assert await payment_ids(search, other.merchant.id) == {theirs.id}
    # An id of another merchant's object finds nothing.
    assert await payment_ids(PaymentFilters(query=theirs.id), merchant.merchant.id) == set()
    assert await session_ids(SessionFilters(query=theirs.id), merchant.merchant.id) == set()


async def test_created_range(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    day = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    times = {
        "before": day - dt.timedelta(microseconds=1),
        "start": day,
        "end": day + dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
        "after": day + dt.timedelta(days=1),
    }
    session = await make_session(mid, created_at=day)
    ids = {
        name: (await make_payment(session, created_at=moment)).id for name, moment in times.items()
    }
    one_day = PaymentFilters.parse({"created_from": "2026-11-20", "created_to": "2026-11-20"})
    assert await payment_ids(one_day, mid) == {ids["start"], ids["end"]}
    from_start = PaymentFilters.parse({"created_from": "2026-11-20T00:00:00Z"})
    assert await payment_ids(from_start, mid) == {ids["start"], ids["end"], ids["after"]}
    # A time includes its whole second.
    to_end = PaymentFilters.parse({"created_to": "2026-11-20T23:59:59Z"})
    assert await payment_ids(to_end, mid) == {ids["before"], ids["start"], ids["end"]}
    # The same range on sessions.
    assert await session_ids(SessionFilters.parse(one_day.as_params()), mid) == {session.id}


async def test_search_targets_of_payments(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    session = await make_session(
        mid,
        customer_email="Shopper@Example.com",
        client_reference_id="order-42",
        metadata={"invoice": "INV-7", "note": 'it\'s "quoted" % _'},
    )
    paid = await make_payment(session, tx_hash="0xabcDEF0123", status="confirmed")
    other = await make_payment(await make_session(mid, client_reference_id="order-43"))
    for text in (
        paid.id,
        session.id,
        "order-42",
        "shopper@example.com",
        "INV-7",
        'it\'s "quoted" % _',
        "0xABCdef0123",
    ):
        assert await payment_ids(PaymentFilters(query=text), mid) == {paid.id}, text
    # Exact matches only: no substring, no key names, no LIKE wildcards.
    for text in ("order-4", "invoice", "INV", "%", "_", "inv-7"):
        assert await payment_ids(PaymentFilters(query=text), mid) == set(), text
    assert await payment_ids(PaymentFilters(query="order-43"), mid) == {other.id}


async def test_search_targets_of_sessions(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    session = await make_session(
        mid,
        customer_email="a@example.com",
        client_reference_id="ref-1",
        metadata={"sku": "X-1", "empty": ""},
    )
    payment = await make_payment(session, tx_hash="0xfeed")
    unpaid = await make_session(mid, metadata={"sku": "X-2"})
    for text in (session.id, payment.id, "0xFEED", "ref-1", "A@EXAMPLE.COM", "X-1"):
        assert await session_ids(SessionFilters(query=text), mid) == {session.id}, text
    assert await session_ids(SessionFilters(query="X-2"), mid) == {unpaid.id}
    assert await session_ids(SessionFilters(query="sku"), mid) == set()


async def test_sessions_by_network_and_token_through_payments(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    usdc_devnet = await make_session(mid)
    await make_payment(usdc_devnet)
    mixed = await make_session(mid)  # ETH on devnet and USDC on ethereum: no USDC on devnet
    await make_payment(mixed, crypto_currency="ETH", token_address=None, decimals=18)
    await make_payment(mixed, network="ethereum")
    unpaid = await make_session(mid, status="expired")
    assert await session_ids(SessionFilters(network="devnet", token="USDC"), mid) == {
        usdc_devnet.id
    }
    assert await session_ids(SessionFilters(network="devnet"), mid) == {usdc_devnet.id, mixed.id}
    assert await session_ids(SessionFilters(status="expired"), mid) == {unpaid.id}
    # Two payments of one session: the session once.
    assert await session_ids(SessionFilters(token="USDC"), mid) == {usdc_devnet.id, mixed.id}
    query = SessionFilters(token="USDC").apply(
        CheckoutSession.all(), merchant_id=mid, livemode=False
    )
    assert await query.count() == 2


async def test_filters_combine_with_the_callers_own(app, merchant: MerchantKeys) -> None:
    """`apply` narrows a queryset the caller may have narrowed already (the API's
    checkout_session filter), and keeps ordering and pagination to the caller."""
    mid = merchant.merchant.id
    first = await make_session(mid, client_reference_id="same")
    second = await make_session(mid, client_reference_id="same")
    wanted = await make_payment(first)
    await make_payment(second)
    query = PaymentFilters(query="same").apply(
        Payment.filter(session_id=first.id), merchant_id=mid, livemode=False
    )
    assert [p.id for p in await query.order_by("created_at")] == [wanted.id]


async def test_texts_longer_than_an_id_column_still_search(app, merchant: MerchantKeys) -> None:
    """A 66-character EVM tx hash, a 300-character metadata value and a 500-character text
    are longer than the id (48) and reference (200) columns: those are not compared (no
    value can equal them, and Tortoise refuses such filter values) and the rest still is."""
    mid = merchant.merchant.id
    tx_hash = "0x" + "cd" * 32
    note = "n" * 300
    session = await make_session(mid, metadata={"note": note})
    payment = await make_payment(session, tx_hash=tx_hash)
    assert await payment_ids(PaymentFilters(query=tx_hash), mid) == {payment.id}
    assert await session_ids(SessionFilters(query=tx_hash.upper()), mid) == {session.id}
    assert await payment_ids(PaymentFilters(query=note), mid) == {payment.id}
    assert await session_ids(SessionFilters(query=note), mid) == {session.id}
    longest = PaymentFilters.parse({"query": "y" * 500})
    assert await payment_ids(longest, mid) == set()
    assert await session_ids(SessionFilters.parse({"query": "y" * 500}), mid) == set()
