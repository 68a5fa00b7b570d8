"""`/v1/checkout/sessions`: create, retrieve, list, expire."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, g, request

from app.api.auth import authenticate, current_caller, owned_by_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import ApiError, invalid_request, json_response, refusal_error
from app.api.idempotency import run_idempotent
from app.api.pagination import paginate
from app.api.schemas import CheckoutSessionCreate, CheckoutSessionListParams, EmptyParams
from app.models import CheckoutSession, Merchant, new_id
from app.money import FiatAmount, MoneyError, normalize_currency
from app.objects import checkout_session_object
from app.payments import PaymentRefused, check_session_options
from app.sessions import payment_in_flight
from app.states import ConcurrentTransition, EventType, SessionStatus, transition, utcnow

blueprint = Blueprint("checkout_sessions", __name__)


def _fiat_amount(params: CheckoutSessionCreate) -> FiatAmount:
    if (params.amount_fiat is None) == (params.amount_fiat_cents is None):
        raise invalid_request(
            "parameter_missing" if params.amount_fiat is None else "parameters_exclusive",
            "Give exactly one of amount_fiat (decimal string) or amount_fiat_cents (integer).",
            "amount_fiat",
        )
    try:
        currency = normalize_currency(params.currency)
    except MoneyError as error:
        raise invalid_request(error.code, str(error), "currency") from None
    try:
        if params.amount_fiat is not None:
            return FiatAmount.parse(params.amount_fiat, currency)
        assert params.amount_fiat_cents is not None
        return FiatAmount.checked(params.amount_fiat_cents, currency)
    except MoneyError as error:
        param = "amount_fiat" if params.amount_fiat is not None else "amount_fiat_cents"
        raise invalid_request(error.code, str(error), param) from None


def _require_https_in_live_mode(params: CheckoutSessionCreate, livemode: bool) -> None:
    if not livemode:
        return
    for name in ("success_url", "cancel_url"):
        if urlsplit(getattr(params, name)).scheme != "https":
            raise invalid_request("url_invalid", f"{name} must use https in live mode.", name)


async def _check_payment_options(
    params: CheckoutSessionCreate, merchant: Merchant, livemode: bool
) -> None:
    """Networks and currencies must be enabled, in the mode, and payable to the merchant."""
    try:
        await check_session_options(
            merchant,
            livemode,
            list(dict.fromkeys(params.allowed_networks)),
            list(dict.fromkeys(params.allowed_crypto_currencies)),
        )
    except PaymentRefused as error:
        raise refusal_error(error) from None


@blueprint.post("/checkout/sessions")
async def create_checkout_session() -> Response:
    await authenticate()
    return await run_idempotent(_create_checkout_session)


async def _create_checkout_session() -> Response:
    caller = current_caller()
    params = validate(CheckoutSessionCreate, await body_params())
    amount = _fiat_amount(params)
    _require_https_in_live_mode(params, caller.livemode)
    await _check_payment_options(params, caller.merchant, caller.livemode)
    settings = current_app.config["KASSA_SETTINGS"]
    now = utcnow()
    session_id = new_id("cs_live" if caller.livemode else "cs_test")
    session = await CheckoutSession.create(
        id=session_id,
        merchant_id=caller.merchant_id,
        livemode=caller.livemode,
        status=SessionStatus.OPEN,
        amount_fiat_cents=amount.minor_units,
        fiat_currency=amount.currency,
        allowed_crypto_currencies=list(dict.fromkeys(params.allowed_crypto_currencies)),
        allowed_networks=list(dict.fromkeys(params.allowed_networks)),
        checkout_url=f"{settings.base_url}/checkout/{session_id}",
        success_url=params.success_url,
        cancel_url=params.cancel_url,
        customer_email=params.customer_email,
        client_reference_id=params.client_reference_id,
        metadata=params.metadata,
        expires_at=now + dt.timedelta(seconds=params.expires_in),
        created_at=now,
        updated_at=now,
    )
    return json_response(checkout_session_object(session))


@blueprint.get("/checkout/sessions/<session_id>")
async def retrieve_checkout_session(session_id: str) -> Response:
    await authenticate()
    validate(EmptyParams, query_params())
    session = await owned_by_caller(CheckoutSession, session_id, "checkout session")
    return json_response(checkout_session_object(session))


@blueprint.get("/checkout/sessions")
async def list_checkout_sessions() -> Response:
    caller = await authenticate()
    params = validate(CheckoutSessionListParams, query_params())
    query = CheckoutSession.filter(merchant_id=caller.merchant_id, livemode=caller.livemode)
    if params.status is not None:
        query = query.filter(status=params.status)
    page = await paginate(query, params, "/v1/checkout/sessions", checkout_session_object)
    return json_response(page)


@blueprint.post("/checkout/sessions/<session_id>/expire")
async def expire_checkout_session(session_id: str) -> Response:
    await authenticate()

    async def expire() -> Response:
        validate(EmptyParams, await body_params())
        session = await owned_by_caller(CheckoutSession, session_id, "checkout session")
        try:
            if session.status == SessionStatus.OPEN and await payment_in_flight(session.id):
                raise ApiError(
                    400,
                    "invalid_request_error",
                    "checkout_session_payment_in_progress",
                    "A payment of this session is on chain and not final yet; it cannot be "
                    "expired now.",
                )
            if session.status == SessionStatus.OPEN:
                await transition(
                    session,
                    SessionStatus.EXPIRED,
                    EventType.CHECKOUT_SESSION_EXPIRED,
                    request_id=g.request_id,
                    idempotency_key=request.headers.get("Idempotency-Key"),
                )
                return json_response(checkout_session_object(session))
        except ConcurrentTransition:
            session = await owned_by_caller(CheckoutSession, session_id, "checkout session")
        raise ApiError(
            400,
            "invalid_request_error",
            "checkout_session_not_open",
            f"Only open checkout sessions can be expired; this one is {session.status}.",
        )

    return await run_idempotent(expire)
