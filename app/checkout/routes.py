"""The hosted checkout: one page per session, HTMX fragments, an SSE status stream.

Every route works without JavaScript: forms post and redirect back to the page, links
reload it. With htmx the same routes answer with `_fragment.html` partials instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from quart import (
    Blueprint,
    Quart,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
)

import app.payments as payments
from app.checkout.options import PaymentOption, find_option, payment_options
from app.checkout.paydetails import PayDetails, pay_details
from app.checkout.preview import PreviewUnavailable, preview_amount
from app.checkout.security import (
    CSRF_FIELD,
    PaymentRateLimits,
    apply_security_headers,
    csp_nonce,
    csrf_ok,
    csrf_token,
    preview_limit,
    set_csrf_cookie,
)
from app.checkout.state import (
    ShopperStatus,
    active_payment,
    active_payments,
    cancel_redirect_url,
    shopper_status,
    success_redirect_url,
)
from app.checkout.streams import StatusReading, StatusStreams, Subscription
from app.config import Settings
from app.i18n import (
    DEFAULT_LOCALE,
    current_locale,
    gettext,
    install_gettext,
    lazy_gettext,
    session_locale,
    set_locale,
    use_locale,
)
from app.line_items import page_lines
from app.models import CheckoutSession, Merchant, Payment
from app.money import FiatAmount
from app.networks import current_registry
from app.notify import process_listener
from app.proxies import client_address, trusted_networks
from app.ratelimit import retry_after, take
from app.states import (
    ConcurrentTransition,
    EventType,
    PaymentStatus,
    SessionStatus,
    transition,
    utcnow,
)
from app.watcher import send_tx_hint

log = logging.getLogger("kassa.checkout")

checkout = Blueprint("checkout", __name__, url_prefix="/checkout")

_SESSION_ID = re.compile(r"^cs_(?:test|live)_[A-Za-z0-9]{16,40}$")
SSE_POLL_SECONDS = 1.0
SSE_MAX_SECONDS = 600.0  # the browser reconnects; bounded streams free server slots
# A refused stream: the page polls /status meanwhile (static/checkout.js), so no hurry.
SSE_REFUSED_RETRY_SECONDS = 30
PREVIEW_LIMITED = lazy_gettext(
    "Too many price requests from your network: wait a few seconds and try again."
)


# ----------------------------------------------------------------------------- plumbing


def _settings() -> Settings:
    settings: Settings = current_app.config["KASSA_SETTINGS"]
    return settings


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def shopper_address() -> str:
    """The shopper's address behind the operator's trusted proxies (see app/proxies.py)."""
    proxies: tuple[Any, ...] | None = current_app.config.get("KASSA_TRUSTED_PROXIES")
    if proxies is None:
        proxies = trusted_networks(_settings().trusted_proxies)
        current_app.config["KASSA_TRUSTED_PROXIES"] = proxies
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), proxies)


@checkout.record_once
def _install_translations(state: Any) -> None:
    # One Jinja environment for every language: `_()` reads the locale of the render.
    install_gettext(state.app.jinja_env)


@checkout.before_request
async def _source_language() -> None:
    # English until `load_session` knows the session's language (and on a 404).
    set_locale(DEFAULT_LOCALE)


@checkout.after_request
async def checkout_headers(response: Response) -> Response:
    set_csrf_cookie(response)
    # A page's language follows the shopper's Accept-Language (a session's "auto" locale).
    response.vary.add("Accept-Language")
    if is_htmx():
        # Fragments and full pages share URLs: caches must key on the header.
        response.vary.add("HX-Request")
    return apply_security_headers(response)


@checkout.app_template_global("csp_nonce")
def _csp_nonce_global() -> str:
    return csp_nonce()


async def load_session(session_id: str) -> CheckoutSession:
    if not _SESSION_ID.match(session_id):
        abort(404)
    session = await CheckoutSession.get_or_none(id=session_id)
    if session is None:
        abort(404)
    # The merchant's redirect origins are allowed as form targets (see the CSP docstring).
    g.csp_redirect_targets = (session.success_url, session.cancel_url)
    # Everything rendered or said from here on is in the session's language.
    set_locale(session_locale(session.locale, request.headers.get("Accept-Language")))
    return session


def page_url(session: CheckoutSession, **query: str) -> str:
    # Values may be the shopper's own text (`?option=` echoed by /preview): encoded, so CR/LF
    # cannot split the Location header and `&` cannot add parameters.
    suffix = urlencode(query)
    return f"/checkout/{session.id}" + (f"?{suffix}" if suffix else "")


def redirect_to(url: str) -> Response:
    """A redirect both htmx (`HX-Redirect`, a full navigation) and plain forms follow."""
    if is_htmx():
        response = Response("", status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)  # type: ignore[return-value]


def _seconds_left(session: CheckoutSession) -> int:
    return max(0, int((session.expires_at - utcnow()).total_seconds()))


def _pay_details(payment: Payment | None) -> PayDetails | None:
    if payment is None or payment.status != PaymentStatus.PENDING:
        return None
    return pay_details(payment)


def _checkout_scripts(options: list[PaymentOption], pay: PayDetails | None) -> list[str]:
    """Static scripts of the networks this page may show a pay step for (no duplicates)."""
    networks = [option.network for option in options]
    if pay is not None and pay.network is not None:
        networks.append(pay.network)
    scripts: dict[str, None] = {}
    for network in networks:
        scripts.update(dict.fromkeys(network.checkout_scripts))
    return list(scripts)


async def _context(session: CheckoutSession, **extra: Any) -> dict[str, Any]:
    merchant = await Merchant.get(id=session.merchant_id)
    payment = await active_payment(session)
    status = shopper_status(session, payment)
    pay = _pay_details(payment) if session.status == SessionStatus.OPEN else None
    return {
        "session": session,
        "merchant": merchant,
        "fiat": FiatAmount(session.amount_fiat_cents, session.fiat_currency),
        "seconds_left": _seconds_left(session),
        "expires_unix": int(session.expires_at.timestamp()),
        "payment": payment,
        "pay": pay,
        "status": status,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(session.id),
        "success_url": success_redirect_url(session),
        "cancel_url": cancel_redirect_url(session),
        **extra,
    }


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, headers=headers, content_type="text/html; charset=utf-8")


async def notice(
    session: CheckoutSession, message: str, status: int, retry_after: int | None = None
) -> Response:
    """An error for the shopper: a fragment into #notice (htmx) or the page with the message."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if is_htmx():
        headers.update({"HX-Retarget": "#notice", "HX-Reswap": "innerHTML"})
        body = await render_template("_notice.html", message=message)
        return html(body, status, headers)
    if session.status != SessionStatus.OPEN:
        context = await _context(session)
        return html(await render_template("checkout_closed.html", **context), status, headers)
    context = await _open_page_context(session, notice=message)
    return html(await render_template("checkout.html", **context), status, headers)


# ----------------------------------------------------------------------------- pages


@checkout.get("/<session_id>")
async def checkout_page(session_id: str) -> Response:
    session = await load_session(session_id)
    if session.status != SessionStatus.OPEN:
        return await _closed_page(session)
    context = await _open_page_context(session)
    status, headers = _preview_status(context["preview"])
    if is_htmx() and context["choosing"]:
        # "Choose another currency" swaps the choices in without reloading the page.
        return html(await render_template("_choices.html", **context), status, headers)
    return html(await render_template("checkout.html", **context), status, headers)


async def _open_page_context(session: CheckoutSession, **extra: Any) -> dict[str, Any]:
    """The open page: the choices (with a preview for `?option=`) or the pay step."""
    context = await _context(session, **extra)
    options = payment_options(session, context["merchant"])
    chosen = find_option(options, request.args.get("option"))
    # No choices while money of a replaced payment is on its way: it will complete the session.
    unpaid = context["pay"] is None and context["status"].phase != "seen"
    choosing = unpaid or request.args.get("choose") == "1"
    preview = None
    if choosing and chosen is not None:
        preview = await _preview(session, chosen)
    context.update(
        options=options,
        chosen=chosen,
        choosing=choosing,
        preview=preview,
        line_items=await page_lines(session.id),
        checkout_scripts=_checkout_scripts(options, context["pay"]),
    )
    return context


async def _closed_page(session: CheckoutSession) -> Response:
    context = await _context(session)
    # A seen-but-not-final payment keeps a timed-out session on the live page.
    if context["status"].phase == "seen":
        context.update(options=[], chosen=None, choosing=False, preview=None, checkout_scripts=[])
        return html(await render_template("checkout.html", **context))
    return html(await render_template("checkout_closed.html", **context))


async def _preview(session: CheckoutSession, option: PaymentOption) -> dict[str, Any]:
    wait = await take(f"preview-ip:{shopper_address()}", preview_limit(_settings()))
    if wait:
        return {"error": PREVIEW_LIMITED, "retry_after": retry_after(wait)}
    try:
        amount = await preview_amount(session, option)
    except PreviewUnavailable as error:
        return {"error": str(error)}
    return {"amount": amount, "symbol": option.token.symbol, "network": option.network.name}


def _preview_status(preview: dict[str, Any] | None) -> tuple[int, dict[str, str]]:
    """429 with `Retry-After` when the preview was refused by its rate limit, else 200."""
    if preview is None or "retry_after" not in preview:
        return 200, {}
    return 429, {"Retry-After": str(preview["retry_after"])}


@checkout.get("/<session_id>/preview")
async def checkout_preview(session_id: str) -> Response:
    session = await load_session(session_id)
    if not is_htmx():
        return redirect(page_url(session, option=request.args.get("option", "")), 303)  # type: ignore[return-value]
    merchant = await Merchant.get(id=session.merchant_id)
    option = find_option(payment_options(session, merchant), request.args.get("option"))
    preview = await _preview(session, option) if option is not None else None
    status, headers = _preview_status(preview)
    body = await render_template("_preview.html", preview=preview, chosen=option)
    return html(body, status, headers)


@checkout.post("/<session_id>/pay")
async def checkout_pay(session_id: str) -> Response:
    session = await load_session(session_id)
    if not await csrf_ok(session.id):
        return await csrf_refused(session)
    if session.status != SessionStatus.OPEN:
        return redirect_to(page_url(session))
    form = await request.form
    merchant = await Merchant.get(id=session.merchant_id)
    option = find_option(payment_options(session, merchant), form.get("option"))
    if option is None:
        return await notice(session, gettext("Choose a currency to pay with."), 400)
    wait = await PaymentRateLimits.from_settings(_settings()).check(session.id, shopper_address())
    if wait:
        return await notice(
            session,
            gettext("Too many payment attempts. Please wait a moment and try again."),
            429,
            retry_after=retry_after(wait),
        )
    try:
        await payments.create_payment(
            session, option.network.key, option.token.symbol, request_id=g.get("request_id")
        )
    except payments.PaymentRefused as error:
        log.info("checkout %s: payment refused: %s", session.id, error.code)
        return await notice(session, _payment_error_message(error), error.status)
    except Exception:  # a shopper gets a sentence, the operator the traceback
        log.exception("checkout %s: payment creation failed", session.id)
        return await notice(session, _payment_error_message(None), 500)
    if not is_htmx():
        return redirect_to(page_url(session))
    session = await load_session(session_id)
    context = await _context(session)
    body = await render_template("_pay_step.html", **context, oob_status=True)
    return html(body)


# What a shopper reads for a refused payment in a language other than English (the API's
# refusal messages, shown as they are on the English page, are English only).
_REFUSAL_REASONS = {
    "quote_unavailable": lazy_gettext(
        "No price is available for this currency right now. Please try again in a moment or "
        "choose another currency."
    ),
    "network_unreachable": lazy_gettext(
        "The network cannot be reached right now. Please try again in a moment or choose "
        "another currency."
    ),
    "checkout_session_expired": lazy_gettext("This checkout has expired."),
    "checkout_session_not_open": lazy_gettext("This checkout is no longer open."),
}


def _payment_error_message(error: payments.PaymentRefused | None) -> str:
    if isinstance(error, payments.PaymentRefused):
        if current_locale() == DEFAULT_LOCALE and error.message:
            return error.message
        if error.code in _REFUSAL_REASONS:
            return str(_REFUSAL_REASONS[error.code])
    return gettext(
        "This payment could not be started. Please try again or choose another currency."
    )


async def csrf_refused(session: CheckoutSession) -> Response:
    return await notice(
        session, gettext("This form has expired. Reload the page and try again."), 403
    )


@checkout.get("/<session_id>/status")
async def checkout_status(session_id: str) -> Response:
    session = await load_session(session_id)
    if not is_htmx():
        return redirect(page_url(session), 303)  # type: ignore[return-value]
    payment = await active_payment(session)
    status = shopper_status(session, payment)
    return html(await render_template("_status.html", status=status, session=session))


def _status_streams() -> StatusStreams:
    streams: StatusStreams | None = current_app.config.get("KASSA_STATUS_STREAMS")
    if streams is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]

        async def read(session_ids: list[str]) -> dict[str, StatusReading]:
            return await read_statuses(app, session_ids)

        # Woken by `kassa_session` notifications from every process (app/notify.py).
        streams = StatusStreams(read, SSE_POLL_SECONDS, process_listener())
        current_app.config["KASSA_STATUS_STREAMS"] = streams
    return streams


@checkout.after_app_serving
async def _stop_status_streams() -> None:
    # Registered before the app's own shutdown, so the poller stops before the database closes.
    streams: StatusStreams | None = current_app.config.pop("KASSA_STATUS_STREAMS", None)
    if streams is not None:
        await streams.close()


_STATUS_FIELDS = ("id", "status", "payment_id", "success_url")


async def read_statuses(app: Quart, session_ids: list[str]) -> dict[str, StatusReading]:
    """The watched sessions' statuses for the streams: two queries however many (streams.py)."""
    # Only what `shopper_status` and `_status.html` read: building whole rows (JSON fields,
    # timestamps) for every watched session each second would cost four times as much.
    sessions = await CheckoutSession.filter(id__in=session_ids).only(*_STATUS_FIELDS)
    payments = await active_payments(sessions)
    return {
        session.id: _reading(app, session, shopper_status(session, payments[session.id]))
        for session in sessions
    }


def _reading(app: Quart, session: CheckoutSession, status: ShopperStatus) -> StatusReading:
    async def render(locale: str) -> bytes:
        # The stream's own language (each stream's request chose it), not the poller's.
        async with app.app_context():
            with use_locale(locale):
                html = await render_template("_status.html", status=status, session=session)
        # SSE data lines cannot hold newlines: one `data:` line per line of HTML.
        lines = [line for line in html.splitlines() if line.strip()]
        return ("event: status\n" + "".join(f"data: {line}\n" for line in lines) + "\n").encode()

    return StatusReading(status.key(), status.final, render)


@checkout.get("/<session_id>/events")
async def checkout_events(session_id: str) -> Response:
    """Server-sent `status` events whenever the rendered status changes; `close` when final.

    Streams are capped per session and per client address; beyond that a 429, and the page
    polls `/status` instead (its fallback when events fail).
    """
    session = await load_session(session_id)
    settings = _settings()
    subscription = _status_streams().open(
        session.id,
        shopper_address(),
        settings.checkout_streams_per_session,
        settings.checkout_streams_per_ip,
        current_locale(),
    )
    if subscription is None:
        return Response(
            "Too many live status streams; this page refreshes its status instead.\n",
            status=429,
            headers={"Retry-After": str(SSE_REFUSED_RETRY_SECONDS)},
            content_type="text/plain; charset=utf-8",
        )
    body = _stream(subscription)
    # A response dropped before its body starts (the client left at once) never runs the
    # generator's `finally`: its slots are then freed when the generator is collected.
    weakref.finalize(body, subscription.close)
    response = Response(body, content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise hold events back
    response.timeout = None  # type: ignore[attr-defined]
    return response


async def _stream(subscription: Subscription) -> AsyncIterator[bytes]:
    deadline = asyncio.get_running_loop().time() + SSE_MAX_SECONDS
    try:
        yield b"retry: 3000\n\n"
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    item = await subscription.queue.get()
            except TimeoutError:
                return
            if item is None:
                return
            yield item
    finally:
        subscription.close()


@checkout.post("/<session_id>/cancel")
async def checkout_cancel(session_id: str) -> Response:
    session = await load_session(session_id)
    if not await csrf_ok(session.id):
        return await csrf_refused(session)
    payment = await active_payment(session)
    if shopper_status(session, payment).phase == "seen":
        return await notice(
            session,
            gettext("A payment is already on its way; this checkout can no longer be canceled."),
            409,
        )
    if session.status == SessionStatus.OPEN:
        try:
            await transition(
                session,
                SessionStatus.CANCELED,
                EventType.CHECKOUT_SESSION_CANCELED,
                request_id=g.get("request_id"),
            )
        except ConcurrentTransition:
            session = await load_session(session_id)
    if session.status == SessionStatus.CANCELED:
        return redirect_to(cancel_redirect_url(session))
    return redirect_to(page_url(session))


@checkout.post("/<session_id>/tx")
async def checkout_tx_hint(session_id: str) -> Response:
    """The wallet script reports its transaction id: a hint only; the chain is the truth.

    The network checks the id's spelling; the watcher then looks the transaction up at once
    instead of waiting for its next poll.
    """
    session = await load_session(session_id)
    if not await csrf_ok(session.id):
        return _json({"ok": False}, 403)
    try:
        body = json.loads(await request.get_data(as_text=True) or "{}")
    except ValueError:
        body = {}
    tx_id = body.get("tx_hash") if isinstance(body, dict) else None
    payment_id = body.get("payment_id") if isinstance(body, dict) else None
    if not isinstance(tx_id, str) or not isinstance(payment_id, str | None):
        return _json({"ok": False}, 400)
    payment = await Payment.get_or_none(id=payment_id or "", session_id=session.id)
    network = current_registry().network(payment.network) if payment is not None else None
    if payment is None or network is None:
        return _json({"ok": False}, 404)
    try:
        tx_id = network.normalize_tx_id(tx_id)
    except ValueError:
        return _json({"ok": False}, 400)
    await send_tx_hint(network, payment.id, tx_id)
    return _json({"ok": True}, 200)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
