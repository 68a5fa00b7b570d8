"""The dashboard's first page: counts and volume per day over the last 30 days.

Three grouped queries, each for the signed-in merchant and mode only and each answering at
most one row per day (per currency for the volume), whatever the number of sessions:
sessions created (by `created_at`), sessions completed (by `updated_at`, which a terminal
status never changes again) and payments confirmed with their fiat amounts (by
`confirmed_at`). Days are UTC days, computed by the database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pypika_tortoise import SqlContext
from pypika_tortoise.terms import Term
from quart import Response
from tortoise.expressions import Expression, ResolveContext, ResolveResult
from tortoise.functions import Count, Sum

from app.dashboard.charts import BarChart, bar_chart
from app.dashboard.formatting import fiat
from app.dashboard.users import Role
from app.dashboard.web import dashboard_blueprint, render, requires, signed_in
from app.models import CheckoutSession, Payment
from app.money import FiatAmount, currency_exponent
from app.states import PaymentStatus, SessionStatus, utcnow

overview = dashboard_blueprint("dashboard_overview")

DAYS = 30
# Volume charts for at most this many currencies (the largest first); the table has all.
MAX_VOLUME_CHARTS = 3


class UtcDay(Expression):
    """The UTC calendar day of a datetime column, computed by the database (SQLite's
    date(), PostgreSQL's AT TIME ZONE 'UTC' cast to date)."""

    def __init__(self, field_name: str) -> None:
        self.field_name = field_name

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        column = getattr(resolve_context.table, self.field_name)
        return ResolveResult(term=_UtcDate(column))


class _UtcDate(Term):
    def __init__(self, column: Term) -> None:
        super().__init__()
        self.column = column

    def get_sql(self, ctx: SqlContext) -> str:
        column = self.column.get_sql(ctx.copy(with_namespace=True, with_alias=False))
        if ctx.dialect.value == "postgresql":
            sql = f"CAST(({column} AT TIME ZONE 'UTC') AS DATE)"
        else:
            sql = f"date({column})"
        if ctx.with_alias and self.alias:
            sql += f' "{self.alias}"'
        return sql


def _as_date(value: Any) -> dt.date:
    """SQLite answers 'YYYY-MM-DD', PostgreSQL a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(slots=True)
class DailyFigures:
    """The last `DAYS` UTC days (oldest first) and what happened on each."""

    days: list[dt.date]
    sessions_created: list[int]
    sessions_completed: list[int]
    payments_confirmed: list[int]
    # {currency: [minor units per day]}
    volume: dict[str, list[int]] = field(default_factory=dict)

    def total(self, series: list[int]) -> int:
        return sum(series)

    def volume_totals(self) -> list[FiatAmount]:
        """Each currency's total, largest first (by minor units: a ranking, not a sum)."""
        totals = [FiatAmount(sum(per_day), currency) for currency, per_day in self.volume.items()]
        return sorted(totals, key=lambda amount: (-amount.minor_units, amount.currency))


async def daily_figures(merchant_id: str, livemode: bool, today: dt.date) -> DailyFigures:
    first = today - dt.timedelta(days=DAYS - 1)
    start = dt.datetime.combine(first, dt.time(), dt.UTC)
    days = [first + dt.timedelta(days=n) for n in range(DAYS)]
    index = {day: n for n, day in enumerate(days)}

    def per_day(rows: list[dict[str, Any]], value: str = "n") -> list[int]:
        series = [0] * DAYS
        for row in rows:
            position = index.get(_as_date(row["day"]))
            if position is not None:
                series[position] += int(row[value] or 0)
        return series

    sessions = CheckoutSession.filter(merchant_id=merchant_id, livemode=livemode)
    created = (
        await sessions.filter(created_at__gte=start)
        .annotate(day=UtcDay("created_at"), n=Count("id"))
        .group_by("day")
        .values("day", "n")
    )
    completed = (
        await sessions.filter(status=SessionStatus.COMPLETED, updated_at__gte=start)
        .annotate(day=UtcDay("updated_at"), n=Count("id"))
        .group_by("day")
        .values("day", "n")
    )
    confirmed = (
        await Payment.filter(
            merchant_id=merchant_id,
            livemode=livemode,
            status=PaymentStatus.CONFIRMED,
            confirmed_at__gte=start,
        )
        .annotate(day=UtcDay("confirmed_at"), n=Count("id"), cents=Sum("amount_fiat_cents"))
        .group_by("day", "fiat_currency")
        .values("day", "fiat_currency", "n", "cents")
    )
    volume: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in confirmed:
        volume[str(row["fiat_currency"]).upper()].append(row)
    return DailyFigures(
        days=days,
        sessions_created=per_day(created),
        sessions_completed=per_day(completed),
        payments_confirmed=per_day(confirmed),
        volume={currency: per_day(rows, "cents") for currency, rows in sorted(volume.items())},
    )


def charts_of(figures: DailyFigures) -> list[BarChart]:
    days = figures.days
    charts = [
        bar_chart(
            "chart-created",
            "Sessions created",
            days,
            figures.sessions_created,
            [str(n) for n in figures.sessions_created],
            whole=True,
        ),
        bar_chart(
            "chart-completed",
            "Sessions completed",
            days,
            figures.sessions_completed,
            [str(n) for n in figures.sessions_completed],
            whole=True,
        ),
        bar_chart(
            "chart-confirmed",
            "Payments confirmed",
            days,
            figures.payments_confirmed,
            [str(n) for n in figures.payments_confirmed],
            whole=True,
        ),
    ]
    for total in figures.volume_totals()[:MAX_VOLUME_CHARTS]:
        per_day = figures.volume[total.currency]
        exponent = currency_exponent(total.currency)
        charts.append(
            bar_chart(
                f"chart-volume-{total.currency.lower()}",
                f"Volume in {total.currency}",
                days,
                [Decimal(cents).scaleb(-exponent) for cents in per_day],
                [fiat(cents, total.currency) for cents in per_day],
            )
        )
    return charts


@overview.get("/")
@requires(Role.VIEWER)
async def overview_page() -> Response:
    signed = signed_in()
    figures = await daily_figures(signed.merchant_id, signed.livemode, utcnow().date())
    created = figures.total(figures.sessions_created)
    completed = figures.total(figures.sessions_completed)
    return await render(
        "dashboard/overview.html",
        figures=figures,
        charts=charts_of(figures),
        created=created,
        completed=completed,
        confirmed=figures.total(figures.payments_confirmed),
        volume_totals=[fiat(t.minor_units, t.currency) for t in figures.volume_totals()],
        days=DAYS,
    )
