"""`app.exports`: CSV of payments and sessions, streamed in keyset batches, on both databases.

Exact decimals (no float anywhere), refund totals, the filters of `app.search`, CSV quoting
and formula defusing, and batches that neither skip nor repeat rows sharing a timestamp.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io

import pytest

from app import exports
from app.exports import (
    PAYMENT_COLUMNS,
    SESSION_COLUMNS,
    csv_cell,
    export_payments,
    export_sessions,
)
from app.models import UINT256_MAX
from app.search import PaymentFilters, SessionFilters
from tests.conftest import MerchantKeys, new_merchant
from tests.records import make_payment, make_refund, make_session


async def collect(chunks) -> str:
    return "".join([chunk async for chunk in chunks])


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def payment_rows(merchant_id: str, livemode: bool = False, **filters) -> list[dict]:
    text = await collect(
        export_payments(PaymentFilters(**filters), merchant_id=merchant_id, livemode=livemode)
    )
    return parse(text)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+31 6 123", "'+31 6 123"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
    ],
)
def test_cells_are_never_formulas(value, cell) -> None:
    assert csv_cell(value) == cell


async def test_payment_row_has_exact_amounts_and_iso_times(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    session = await make_session(
        mid,
        amount_fiat_cents=1050,
        fiat_currency="KWD",
        client_reference_id="order-1",
        customer_email="a@example.com",
    )
    created = dt.datetime(2026, 11, 20, 13, 5, 7, 654321, tzinfo=dt.UTC)
    payment = await make_payment(
        session,
        crypto_currency="ETH",
        token_address=None,
        decimals=18,
        amount_base_units=UINT256_MAX,  # far beyond a float's 53 bits
        amount_received=1,
        status="confirmed",
        tx_hash="0xabc",
        block_number=123,
        confirmations=12,
        quote_rate="1850.123456789",
        quote_source="fixed",
        created_at=created,
        confirmed_at=created + dt.timedelta(minutes=2),
    )
    [row] = await payment_rows(mid)
    assert list(row) == list(PAYMENT_COLUMNS)
    assert row["id"] == payment.id
    assert row["checkout_session"] == session.id
    assert row["client_reference_id"] == "order-1"
    assert row["customer_email"] == "a@example.com"
    assert row["amount_base_units"] == str(UINT256_MAX)
    whole, frac = divmod(UINT256_MAX, 10**18)
    assert row["amount_crypto"] == f"{whole}.{frac:018d}"
    assert row["amount_received"] == "0.000000000000000001"
    assert row["amount_fiat"] == "1.050"  # KWD has three decimals
    assert row["fiat_currency"] == "KWD"
    assert row["quote_rate"] == "1850.123456789"
    assert row["created_at"] == "2026-11-20T13:05:07Z"
    assert row["confirmed_at"] == "2026-11-20T13:07:07Z"
    assert row["token_address"] == ""
    assert row["late"] == "false"
    assert row["livemode"] == "false"
    assert row["amount_refunded"] == "0"
    assert row["refund_status"] == ""


async def test_refund_totals_and_status(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    session = await make_session(mid)
    partial = await make_payment(session, amount_base_units=10_000_000, status="confirmed")
    await make_refund(partial, 2_500_000, "succeeded")
    await make_refund(partial, 1_000_001, "pending_address")
    await make_refund(partial, 500_000, "pending")
    await make_refund(partial, 9_000_000, "canceled")  # withdrawn: counts for nothing
    full = await make_payment(session, amount_base_units=3, status="confirmed")
    await make_refund(full, 1, "succeeded")
    await make_refund(full, 2, "succeeded")
    owed = await make_payment(session, status="confirmed")
    await make_refund(owed, 1, "pending")
    # Overpaid: 5 arrived for an amount of 3; refunding 3 is not all it brought.
    overpaid = await make_payment(session, amount_base_units=3, amount_final=5, status="confirmed")
    await make_refund(overpaid, 3, "succeeded")
    rows = {row["id"]: row for row in await payment_rows(mid)}
    assert rows[partial.id]["amount_refunded"] == "2.5"
    assert rows[partial.id]["amount_refund_pending"] == "1.500001"
    assert rows[partial.id]["refund_status"] == "partial"
    assert rows[full.id]["amount_refunded"] == "0.000003"
    assert rows[full.id]["refund_status"] == "full"
    assert rows[owed.id]["refund_status"] == "pending"
    assert rows[owed.id]["amount_refund_pending"] == "0.000001"
    assert rows[overpaid.id]["refund_status"] == "partial"


async def test_csv_quoting_and_defusing_round_trip(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    session = await make_session(
        mid,
        client_reference_id='=HYPERLINK("http://evil.example","x")',
        customer_email="-x@example.com",
        metadata={"note": 'a, "b"\nc', "ünï": "cödé"},
    )
    await make_payment(session)
    [row] = await payment_rows(mid)
    assert row["client_reference_id"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["customer_email"] == "'-x@example.com"
    text = await collect(export_sessions(SessionFilters(), merchant_id=mid, livemode=False))
    [session_row] = parse(text)
    assert list(session_row) == list(SESSION_COLUMNS)
    assert session_row["metadata"] == '{"note": "a, \\"b\\"\\nc", "ünï": "cödé"}'
    assert text.startswith(",".join(SESSION_COLUMNS) + "\r\n")


async def test_filters_and_scope(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    other = await new_merchant("Other")
    session = await make_session(mid, client_reference_id="wanted")
    wanted = await make_payment(session, status="confirmed")
    await make_payment(session, status="expired")
    await make_payment(await make_session(mid, livemode=True, client_reference_id="wanted"))
    await make_payment(await make_session(other.merchant.id, client_reference_id="wanted"))
    assert [r["id"] for r in await payment_rows(mid, query="wanted", status="confirmed")] == [
        wanted.id
    ]
    assert len(await payment_rows(mid, livemode=True)) == 1
    assert await payment_rows(mid, network="ethereum") == []


async def test_sessions_carry_their_payment_and_count(app, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    session = await make_session(mid, status="completed", amount_fiat_cents=1999)
    await make_payment(session, status="expired")
    paid = await make_payment(
        session, status="confirmed", tx_hash="0xdead", amount_base_units=19_990_000
    )
    session.payment_id = paid.id
    await session.save(update_fields=["payment_id"])
    unpaid = await make_session(mid, fiat_currency="JPY", amount_fiat_cents=1050)
    text = await collect(export_sessions(SessionFilters(), merchant_id=mid, livemode=False))
    rows = {row["id"]: row for row in parse(text)}
    assert rows[session.id]["payment_id"] == paid.id
    assert rows[session.id]["payment_status"] == "confirmed"
    assert rows[session.id]["payment_amount_crypto"] == "19.99"
    assert rows[session.id]["payment_tx_hash"] == "0xdead"
    assert rows[session.id]["payments_count"] == "2"
    assert rows[session.id]["amount_fiat"] == "19.99"
    assert rows[unpaid.id]["amount_fiat"] == "1050"  # JPY has no minor unit
    assert rows[unpaid.id]["payments_count"] == "0"
    assert rows[unpaid.id]["payment_id"] == ""


async def test_streams_in_keyset_batches_without_skipping_ties(
    app, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven payments, four of them at the same microsecond, in batches of two: every row
    once, oldest first (ids break ties), one chunk per batch after the header."""
    monkeypatch.setattr(exports, "BATCH_SIZE", 2)
    mid = merchant.merchant.id
    session = await make_session(mid)
    base = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    moments = [base, base, base, base, base + dt.timedelta(seconds=1), base - dt.timedelta(1)]
    payments = [await make_payment(session, created_at=moment) for moment in moments]
    payments.append(await make_payment(session, created_at=base + dt.timedelta(days=1)))
    chunks = export_payments(PaymentFilters(), merchant_id=mid, livemode=False)
    assert inspect.isasyncgen(chunks)
    received = [chunk async for chunk in chunks]
    assert len(received) == 1 + 4  # the header, then ceil(7 / 2) batches
    rows = parse("".join(received))
    # Every row exactly once, oldest first (ties in the database's own id order).
    assert sorted(row["id"] for row in rows) == sorted(p.id for p in payments)
    times = [row["created_at"] for row in rows]
    assert times == sorted(times)
