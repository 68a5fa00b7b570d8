"""CSV exports of payments and checkout sessions, streamed in bounded memory.

Each export is an async generator of CSV text (UTF-8 once encoded; RFC 4180 quoting, CRLF line
ends, a header row first). Rows are read in keyset-paginated batches ordered by
(created_at, id), oldest first, so memory stays that of one batch however many rows match and
a row inserted meanwhile is neither skipped nor repeated. The columns (PAYMENT_COLUMNS,
SESSION_COLUMNS) are documented in docs/api.md, "CSV exports".

Amounts are exact decimal strings: token amounts from base units and the token's decimals
(`app.money.base_units_to_decimal`), fiat amounts from minor units (`FiatAmount`); never a
float. Times are ISO 8601 UTC (`app.objects.iso_time`). A cell that a spreadsheet would take
for a formula (starting with = + - @, a tab or a carriage return) is prefixed with `'`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app.models import CheckoutSession, Payment, Refund
from app.money import FiatAmount, base_units_to_decimal
from app.objects import iso_time, iso_time_or_none
from app.refunds import OPEN_STATUSES, refundable_amount
from app.search import PaymentFilters, SessionFilters
from app.states import RefundStatus

# Rows per database round trip: large enough that 10,000 payments take a few dozen queries,
# small enough that a batch's objects are a few hundred kilobytes.
BATCH_SIZE = 500

PAYMENT_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    "confirmed_at",
    "status",
    "livemode",
    "checkout_session",
    "client_reference_id",
    "customer_email",
    "network",
    "crypto_currency",
    "token_address",
    "amount_crypto",
    "amount_base_units",
    "decimals",
    "amount_received",
    "amount_fiat",
    "fiat_currency",
    "quote_rate",
    "quote_source",
    "quote_at",
    "tx_hash",
    "block_number",
    "payer",
    "confirmations",
    "late",
    "deposit_address",
    "recipient",
    "amount_refunded",
    "amount_refund_pending",
    "refund_status",
)

SESSION_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    "expires_at",
    "status",
    "livemode",
    "amount_fiat",
    "fiat_currency",
    "client_reference_id",
    "customer_email",
    "metadata",
    "allowed_networks",
    "allowed_crypto_currencies",
    "payment_id",
    "payment_status",
    "payment_network",
    "payment_crypto_currency",
    "payment_amount_crypto",
    "payment_tx_hash",
    "payments_count",
)

_PAYMENT_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "confirmed_at",
    "status",
    "livemode",
    "session_id",
    "network",
    "crypto_currency",
    "token_address",
    "amount_base_units",
    "decimals",
    "amount_received",
    "amount_final",
    "fee_base_units",  # what the merchant got of deposit money: `refundable_amount`
    "amount_fiat_cents",
    "fiat_currency",
    "quote_rate",
    "quote_source",
    "quote_at",
    "tx_hash",
    "block_number",
    "payer",
    "confirmations",
    "late",
    "deposit_address",
    "recipient",
)

# Spreadsheets run a cell starting with these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

M = TypeVar("M", bound=Model)


async def export_payments(
    filters: PaymentFilters, *, merchant_id: str, livemode: bool
) -> AsyncIterator[str]:
    """The merchant's payments in the mode that match `filters`, as CSV text."""
    query = filters.apply(Payment.all(), merchant_id=merchant_id, livemode=livemode)
    async for chunk in payments_csv(query, merchant_id=merchant_id, livemode=livemode):
        yield chunk


async def export_sessions(
    filters: SessionFilters, *, merchant_id: str, livemode: bool
) -> AsyncIterator[str]:
    """The merchant's checkout sessions in the mode that match `filters`, as CSV text."""
    query = filters.apply(CheckoutSession.all(), merchant_id=merchant_id, livemode=livemode)
    async for chunk in sessions_csv(query, merchant_id=merchant_id, livemode=livemode):
        yield chunk


async def payments_csv(
    query: QuerySet[Payment], *, merchant_id: str, livemode: bool
) -> AsyncIterator[str]:
    """`query` (narrowed by the caller, e.g. the API's own filters) as CSV, one row per
    payment; it is scoped to the merchant and mode here whatever the caller did."""
    yield _csv_text([PAYMENT_COLUMNS])
    # Only what the rows show: not the wallet request, the signature or the deposit terms.
    scoped = query.filter(merchant_id=merchant_id, livemode=livemode).only(*_PAYMENT_FIELDS)
    async for payments in _batches(scoped):
        sessions = await _sessions_by_id({p.session_id for p in payments})
        refunds = await _refund_totals([p.id for p in payments])
        yield _csv_text(
            _payment_row(p, sessions.get(p.session_id), refunds.get(p.id, (0, 0))) for p in payments
        )


async def sessions_csv(
    query: QuerySet[CheckoutSession], *, merchant_id: str, livemode: bool
) -> AsyncIterator[str]:
    """`query` as CSV, one row per session with its current payment (`payment_id`) and the
    number of payments made for it; scoped to the merchant and mode here."""
    yield _csv_text([SESSION_COLUMNS])
    scoped = query.filter(merchant_id=merchant_id, livemode=livemode)
    async for sessions in _batches(scoped):
        ids = [s.id for s in sessions]
        payment_ids = [s.payment_id for s in sessions if s.payment_id]
        payments = (
            {p.id: p for p in await Payment.filter(id__in=payment_ids)} if payment_ids else {}
        )
        counts = {
            row["session_id"]: row["count"]
            for row in await Payment.filter(session_id__in=ids)
            .annotate(count=Count("id"))
            .group_by("session_id")
            .values("session_id", "count")
        }
        yield _csv_text(
            _session_row(
                s, payments.get(s.payment_id) if s.payment_id else None, counts.get(s.id, 0)
            )
            for s in sessions
        )


async def _batches(query: QuerySet[M]) -> AsyncIterator[list[M]]:
    """The rows of `query` oldest first, BATCH_SIZE at a time, each batch one query that
    seeks past the last row of the one before (the (merchant_id, livemode, created_at) index)."""
    size = BATCH_SIZE
    after: tuple[dt.datetime, str] | None = None
    while True:
        page = query
        if after is not None:
            at, last_id = after
            page = page.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=last_id))
        rows = await page.order_by("created_at", "id").limit(size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        last: Any = rows[-1]
        after = (last.created_at, last.id)


async def _sessions_by_id(ids: Iterable[str]) -> dict[str, CheckoutSession]:
    ids = list(ids)
    if not ids:
        return {}
    sessions = await CheckoutSession.filter(id__in=ids).only(
        "id", "client_reference_id", "customer_email"
    )
    return {s.id: s for s in sessions}


async def _refund_totals(payment_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """{payment id: (succeeded base units, pending base units)}; canceled refunds count
    for nothing. Summed here: UInt256 digit strings do not add up in SQL."""
    totals: dict[str, tuple[int, int]] = {}
    if not payment_ids:
        return totals
    rows = await Refund.filter(payment_id__in=payment_ids).values_list(
        "payment_id", "status", "amount_base_units"
    )
    for payment_id, status, amount in rows:
        succeeded, pending = totals.get(payment_id, (0, 0))
        units = int(str(amount))
        if status == RefundStatus.SUCCEEDED:
            succeeded += units
        elif status in OPEN_STATUSES:
            pending += units
        totals[payment_id] = (succeeded, pending)
    return totals


def refund_status(payment: Payment, succeeded: int, pending: int) -> str:
    """The refund summary of a payment: "full" once succeeded refunds reach what it brought
    the merchant (`app.refunds.refundable_amount`), "partial" below that, "pending" when only
    refunds still owed exist, "" when none (or only canceled ones)."""
    if succeeded and succeeded >= refundable_amount(payment):
        return "full"
    if succeeded:
        return "partial"
    if pending:
        return "pending"
    return ""


def _payment_row(
    payment: Payment, session: CheckoutSession | None, refunds: tuple[int, int]
) -> list[Any]:
    succeeded, pending = refunds
    decimals = payment.decimals
    return [
        payment.id,
        iso_time(payment.created_at),
        iso_time(payment.updated_at),
        iso_time_or_none(payment.confirmed_at),
        payment.status,
        payment.livemode,
        payment.session_id,
        session.client_reference_id if session else None,
        session.customer_email if session else None,
        payment.network,
        payment.crypto_currency,
        payment.token_address,
        base_units_to_decimal(payment.amount_base_units, decimals),
        payment.amount_base_units,
        decimals,
        base_units_to_decimal(payment.amount_received, decimals),
        FiatAmount(payment.amount_fiat_cents, payment.fiat_currency).decimal_string(),
        payment.fiat_currency.upper(),
        payment.quote_rate,
        payment.quote_source,
        iso_time_or_none(payment.quote_at),
        payment.tx_hash,
        payment.block_number,
        payment.payer,
        payment.confirmations,
        payment.late,
        payment.deposit_address,
        payment.recipient,
        base_units_to_decimal(succeeded, decimals),
        base_units_to_decimal(pending, decimals),
        refund_status(payment, succeeded, pending),
    ]


def _session_row(session: CheckoutSession, payment: Payment | None, payments: int) -> list[Any]:
    return [
        session.id,
        iso_time(session.created_at),
        iso_time(session.updated_at),
        iso_time(session.expires_at),
        session.status,
        session.livemode,
        FiatAmount(session.amount_fiat_cents, session.fiat_currency).decimal_string(),
        session.fiat_currency.upper(),
        session.client_reference_id,
        session.customer_email,
        json.dumps(session.metadata, sort_keys=True, ensure_ascii=False)
        if session.metadata
        else "",
        " ".join(session.allowed_networks),
        " ".join(session.allowed_crypto_currencies),
        session.payment_id,
        payment.status if payment else None,
        payment.network if payment else None,
        payment.crypto_currency if payment else None,
        base_units_to_decimal(payment.amount_base_units, payment.decimals) if payment else None,
        payment.tx_hash if payment else None,
        payments,
    ]


def csv_cell(value: Any) -> str:
    """One cell's text: None empty, booleans true/false, formula-like text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue()
