"""Sessions and payments: the lists (filters, search, pages) and each one's page with its
history, and the "Resend" of a webhook delivery shown there.

Filters and search are `app.search`'s (the CSV exports use the same); pages are the API's
cursor pagination (`app.dashboard.paging`), newest first. Every query is scoped to the
signed-in merchant and the mode of the test/live toggle: another merchant's or the other
mode's object is a 404 page, the same as one that does not exist.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from quart import Response, request
from tortoise.models import Model

from app.audit import audit
from app.dashboard.formatting import fiat
from app.dashboard.history import explorer_link, load_history, network_name
from app.dashboard.paging import page_of
from app.dashboard.users import Role
from app.dashboard.web import (
    dashboard_blueprint,
    error_page,
    id_fits,
    is_htmx,
    owned,
    redirect_to,
    registry,
    render,
    requires,
    safe_next,
    signed_in,
)
from app.line_items import page_lines
from app.models import CheckoutSession, Event, Payment, Refund, WebhookDelivery
from app.search import FilterError, PaymentFilters, SessionFilters
from app.states import PaymentStatus, SessionStatus, WebhookEndpointStatus, utcnow
from app.webhooks.outbox import schedule_redelivery

activity = dashboard_blueprint("dashboard_activity")

PAGE_SIZE = 25


def _filter_choices(livemode: bool) -> dict[str, list[str]]:
    """Networks and tokens of the mode, for the filter form's selects."""
    known = registry()
    networks = sorted(n.key for n in known.networks_for_mode(livemode))
    tokens = sorted({t.symbol.upper() for key in networks for t in known.tokens_of(key)})
    return {"networks": networks, "tokens": tokens}


async def _list_page(
    *,
    kind: str,
    filters_class: type[SessionFilters] | type[PaymentFilters],
    model: type[Model],
    statuses: list[str],
) -> Response:
    signed = signed_in()
    path = f"/dashboard/{kind}"
    status = 200
    error = ""
    rows: list[Any] = []
    links: dict[str, str] = {}
    filters: SessionFilters | PaymentFilters
    try:
        filters = filters_class.parse(request.args)
    except FilterError as problem:
        filters = filters_class()
        status, error = 400, problem.message
        error_param = problem.param
    else:
        error_param = ""
        query = filters.apply(
            model.all(),  # type: ignore[arg-type]
            merchant_id=signed.merchant_id,
            livemode=signed.livemode,
        )
        rows, links, error = await page_of(query, path, filters.as_params(), PAGE_SIZE)
    context: dict[str, Any] = {
        "kind": kind,
        "rows": rows,
        "links": links,
        "error": error,
        "error_param": error_param,
        "values": {name: request.args.get(name, "") for name in _FILTER_NAMES},
        "statuses": statuses,
        "choices": _filter_choices(signed.livemode),
        "export_url": f"/dashboard/exports/{kind}.csv"
        + (f"?{urlencode(filters.as_params())}" if filters.active else ""),
    }
    if is_htmx() and request.headers.get("HX-Target") == "results":
        return await render(f"dashboard/_{kind}_table.html", status=status, **context)
    return await render(f"dashboard/{kind}.html", status=status, **context)


_FILTER_NAMES = ("status", "network", "token", "created_from", "created_to", "query")


@activity.get("/sessions")
@requires(Role.VIEWER)
async def sessions_list() -> Response:
    return await _list_page(
        kind="sessions",
        filters_class=SessionFilters,
        model=CheckoutSession,
        statuses=list(SessionStatus),
    )


@activity.get("/payments")
@requires(Role.VIEWER)
async def payments_list() -> Response:
    return await _list_page(
        kind="payments",
        filters_class=PaymentFilters,
        model=Payment,
        statuses=list(PaymentStatus),
    )


async def _not_found(what: str) -> Response:
    mode = "live" if signed_in().livemode else "test"
    return await error_page(
        404,
        f"No such {what} in your {mode} data. (Switch the mode at the top if it is in the other.)",
    )


@activity.get("/sessions/<session_id>")
@requires(Role.VIEWER)
async def session_page(session_id: str) -> Response:
    signed = signed_in()
    session = await owned(CheckoutSession, session_id)
    if session is None:
        return await _not_found("checkout session")
    payments = (
        await Payment.filter(
            session_id=session.id, merchant_id=signed.merchant_id, livemode=signed.livemode
        )
        .order_by("created_at", "id")
        .limit(50)
    )
    known = registry()
    history = await load_history(
        merchant_id=signed.merchant_id,
        livemode=signed.livemode,
        object_ids=[session.id],
        payments=payments,
        registry=known,
    )
    return await render(
        "dashboard/session.html",
        session=session,
        amount=fiat(session.amount_fiat_cents, session.fiat_currency),
        lines=await page_lines(session.id),
        payments=payments,
        history=history,
        network_name=lambda key: network_name(known, key),
        explorer=lambda p: explorer_link(known, p.network, p.tx_hash),
        resent=request.args.get("resent", ""),
        may_resend=signed.may(Role.DEVELOPER),
        here=request.path,
    )


@activity.get("/payments/<payment_id>")
@requires(Role.VIEWER)
async def payment_page(payment_id: str) -> Response:
    signed = signed_in()
    payment = await owned(Payment, payment_id)
    if payment is None:
        return await _not_found("payment")
    known = registry()
    refunds = (
        await Refund.filter(
            payment_id=payment.id, merchant_id=signed.merchant_id, livemode=signed.livemode
        )
        .order_by("created_at", "id")
        .limit(50)
    )
    history = await load_history(
        merchant_id=signed.merchant_id,
        livemode=signed.livemode,
        object_ids=[payment.id],
        payments=[payment],
        registry=known,
    )
    return await render(
        "dashboard/payment.html",
        payment=payment,
        refunds=refunds,
        history=history,
        network=network_name(known, payment.network),
        tx_url=explorer_link(known, payment.network, payment.tx_hash),
        can_refund=payment.status == PaymentStatus.CONFIRMED and signed.may(Role.OWNER),
        Role=Role,
        resent=request.args.get("resent", ""),
        may_resend=signed.may(Role.DEVELOPER),
        here=request.path,
    )


@activity.post("/deliveries/<delivery_id>/resend")
@requires(Role.DEVELOPER)
async def resend_delivery(delivery_id: str) -> Response:
    """Deliver the event to that endpoint again now (the service `POST /v1/events/{id}/resend`
    uses), with a fresh retry window; the delivery log shows the new attempt."""
    signed = signed_in()
    form = await request.form
    delivery = (
        await WebhookDelivery.filter(
            id=delivery_id,
            event__merchant_id=signed.merchant_id,
            event__livemode=signed.livemode,
        )
        .select_related("endpoint")
        .first()
        if id_fits(WebhookDelivery, delivery_id)
        else None
    )
    if delivery is None:
        return await error_page(404, "No such webhook delivery in this mode.")
    if delivery.endpoint.status != WebhookEndpointStatus.ENABLED:
        return await error_page(
            400, "That webhook endpoint is disabled; enable it first, then resend."
        )
    event = await Event.get(id=delivery.event_id)  # type: ignore[attr-defined]
    await schedule_redelivery(event, [delivery.endpoint.id], utcnow())
    await audit(
        signed.merchant_id,
        signed.actor,
        "webhook_delivery.resent",
        object_id=delivery.id,
        details={"event": event.id, "endpoint": delivery.endpoint.id},
        ip=signed.ip,
    )
    back = safe_next(form.get("next")).split("?")[0]
    return redirect_to(f"{back}?resent={delivery.id}")
