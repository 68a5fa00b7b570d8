"""The lists' **Export CSV**: `/dashboard/exports/payments.csv` and `sessions.csv`.

The same query parameters as the lists (`app.search`), the whole filtered range (not a page)
of the signed-in merchant in the toggle's mode, streamed by `app.exports`. Viewers may export:
they may read everything the file holds. Each download is an audit entry: the file carries
shoppers' e-mail addresses.
"""

from __future__ import annotations

from quart import Response, request

from app.api.streaming import csv_response
from app.audit import audit
from app.dashboard.users import Role
from app.dashboard.web import dashboard_blueprint, error_page, requires, signed_in
from app.exports import export_payments, export_sessions
from app.search import FilterError, PaymentFilters, SessionFilters
from app.states import utcnow

exports = dashboard_blueprint("dashboard_exports")


def _filename(kind: str, livemode: bool) -> str:
    """ "payments-test-2026-12-01.csv": what, which mode, when."""
    return f"{kind}-{'live' if livemode else 'test'}-{utcnow().date().isoformat()}.csv"


async def _refused(problem: FilterError) -> Response:
    return await error_page(400, f"The export's {problem.param} filter: {problem.message}")


@exports.get("/exports/payments.csv")
@requires(Role.VIEWER)
async def payments_csv() -> Response:
    signed = signed_in()
    try:
        filters = PaymentFilters.parse(request.args)
    except FilterError as problem:
        return await _refused(problem)
    await audit(
        signed.merchant_id,
        signed.actor,
        "payments.exported",
        details={"livemode": signed.livemode, "filters": filters.as_params()},
        ip=signed.ip,
    )
    rows = export_payments(filters, merchant_id=signed.merchant_id, livemode=signed.livemode)
    return csv_response(rows, _filename("payments", signed.livemode))


@exports.get("/exports/sessions.csv")
@requires(Role.VIEWER)
async def sessions_csv() -> Response:
    signed = signed_in()
    try:
        filters = SessionFilters.parse(request.args)
    except FilterError as problem:
        return await _refused(problem)
    await audit(
        signed.merchant_id,
        signed.actor,
        "checkout_sessions.exported",
        details={"livemode": signed.livemode, "filters": filters.as_params()},
        ip=signed.ip,
    )
    rows = export_sessions(filters, merchant_id=signed.merchant_id, livemode=signed.livemode)
    return csv_response(rows, _filename("sessions", signed.livemode))
