"""`/v1/checkout/sessions/{id}/payments` and `/v1/payments`: thin over `app.payments`.

Creating a payment is open to two callers: the merchant's API key, and the session's own
hosted page, which holds no key but the session's CSRF token (`app.checkout.security`). The
token authorises that one session only, within the page's own payment rate limits.
"""

from __future__ import annotations

import re

from quart import Blueprint, Response, current_app, g, request

from app.api.auth import authenticate, current_caller, owned_by_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import ApiError, json_response, refusal_error
from app.api.idempotency import run_idempotent
from app.api.pagination import check_no_page_params, filter_created, paginate
from app.api.schemas import EmptyParams, PaymentCreate, PaymentListParams
from app.api.streaming import csv_response, wants_csv
from app.checkout.routes import shopper_address
from app.checkout.security import CSRF_COOKIE, CSRF_FIELD, PaymentRateLimits, csrf_ok
from app.exports import payments_csv
from app.models import CheckoutSession, Payment
from app.objects import payment_object
from app.payments import PaymentRefused, create_payment
from app.ratelimit import retry_after
from app.search import PaymentFilters

blueprint = Blueprint("payments", __name__)

# The spelling of session ids (`app.models.new_id`): anything else is no session's.
_SESSION_ID = re.compile(r"^cs_(?:test|live)_[A-Za-z0-9]{16,40}$")


@blueprint.post("/checkout/sessions/<session_id>/payments")
async def create_session_payment(session_id: str) -> Response:
    if "Authorization" not in request.headers:
        session = await _session_of_its_page(session_id)
        if session is not None:
            return await _create_for_page(session)
    # No key and no page token for this session: the usual 401 (a key: checked as always).
    await authenticate()

    async def create() -> Response:
        params = validate(PaymentCreate, await body_params())
        session = await owned_by_caller(CheckoutSession, session_id, "checkout session")
        return await _created(session, params)

    return await run_idempotent(create)


async def _session_of_its_page(session_id: str) -> CheckoutSession | None:
    """The session, when the request carries its hosted page's CSRF cookie and token."""
    if not _SESSION_ID.match(session_id) or CSRF_COOKIE not in request.cookies:
        return None
    try:
        await body_params()  # read once, before csrf_ok may look for the form field
    except ApiError:
        return None  # not yet authorised to hear what is wrong with the body: the 401
    session = await CheckoutSession.get_or_none(id=session_id)
    if session is None or not await csrf_ok(session.id):
        return None
    return session


async def _create_for_page(session: CheckoutSession) -> Response:
    """The hosted page's call: the same limits as its Pay button; no idempotency keys (they
    are scoped to API keys), and none needed: a repeat answers the same pending payment."""
    fields = {name: value for name, value in (await body_params()).items() if name != CSRF_FIELD}
    params = validate(PaymentCreate, fields)
    limits = PaymentRateLimits.from_settings(current_app.config["KASSA_SETTINGS"])
    wait = await limits.check(session.id, shopper_address())
    if wait:
        seconds = retry_after(wait)
        raise ApiError(
            429,
            "rate_limit_error",
            "rate_limit",
            f"Too many payment attempts for this checkout; retry in {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )
    return await _created(session, params)


async def _created(session: CheckoutSession, params: PaymentCreate) -> Response:
    try:
        payment = await create_payment(
            session, params.network, params.crypto_currency, request_id=g.request_id
        )
    except PaymentRefused as error:
        raise refusal_error(error) from None
    return json_response({"payment": payment_object(payment)})


@blueprint.get("/payments")
async def list_payments() -> Response:
    await authenticate()
    params = validate(PaymentListParams, query_params())
    caller = current_caller()
    # The API's filters mean what the dashboard's do (app.search), plus a session's payments.
    filters = PaymentFilters(status=params.status, network=params.network)
    query = filters.apply(Payment.all(), merchant_id=caller.merchant_id, livemode=caller.livemode)
    if params.checkout_session is not None:
        query = query.filter(session_id=params.checkout_session)
    if wants_csv():
        check_no_page_params(params)
        rows = payments_csv(
            filter_created(query, params.created),
            merchant_id=caller.merchant_id,
            livemode=caller.livemode,
        )
        return csv_response(rows, "payments.csv")
    return json_response(await paginate(query, params, "/v1/payments", payment_object))


@blueprint.get("/payments/<payment_id>")
async def retrieve_payment(payment_id: str) -> Response:
    await authenticate()
    validate(EmptyParams, query_params())
    return json_response(payment_object(await owned_by_caller(Payment, payment_id, "payment")))
