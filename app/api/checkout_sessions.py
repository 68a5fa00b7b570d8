"""`/v1/checkout/sessions`: create, retrieve, list, expire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, g, request
from tortoise.models import Model

from app.api.auth import (
    Caller,
    authenticate,
    check_rate_limit,
    owned_by_caller,
    rate_limit_bucket,
    rate_limited,
)
from app.api.bodies import body_params, query_params, validate
from app.api.errors import ApiError, invalid_request, json_response, refusal_error
from app.api.idempotency import idempotency_key, run_idempotent, run_idempotent_rows
from app.api.pagination import check_no_page_params, filter_created, paginate
from app.api.schemas import (
    CheckoutSessionCreate,
    CheckoutSessionListParams,
    EmptyParams,
    LineItemCreate,
    LineItemListParams,
    PriceData,
)
from app.api.streaming import csv_response, wants_csv
from app.exports import sessions_csv
from app.inserts import insert_with_token, new_row
from app.line_items import line_item_object
from app.models import CheckoutSession, LineItem, Merchant, new_id
from app.money import MAX_AMOUNT_FIAT_CENTS, FiatAmount, MoneyError, normalize_currency
from app.objects import checkout_session_object
from app.payments import PaymentRefused, check_session_currency, check_session_options
from app.ratelimit import Limit
from app.search import SessionFilters
from app.sessions import payment_in_flight
from app.states import ConcurrentTransition, EventType, SessionStatus, transition, utcnow

blueprint = Blueprint("checkout_sessions", __name__)


@dataclass(frozen=True, slots=True)
class RequestedCurrency:
    """The session's currency as the request named it, and under which parameter."""

    code: str
    param: str  # "fiat_currency", or Stripe's name "currency"


@dataclass(frozen=True, slots=True)
class PricedLine:
    """One line item, checked, in minor units of the session's currency."""

    name: str
    description: str | None
    unit_amount: int
    quantity: int

    @property
    def amount_total(self) -> int:
        return self.unit_amount * self.quantity


def _requested_currency(params: CheckoutSessionCreate) -> RequestedCurrency | None:
    """`fiat_currency` or its alias `currency`; both only if they agree."""
    named: list[RequestedCurrency] = []
    for param in ("fiat_currency", "currency"):
        value = getattr(params, param)
        if value is None:
            continue
        try:
            named.append(RequestedCurrency(normalize_currency(value), param))
        except MoneyError as error:
            raise invalid_request(error.code, str(error), param) from None
    if len(named) == 2 and named[0].code != named[1].code:
        raise invalid_request(
            "parameters_exclusive",
            "currency is Stripe's name for fiat_currency: give one of them, not two different "
            f"currencies ({named[0].code} and {named[1].code}).",
            "currency",
        )
    return named[0] if named else None


def _check_one_amount_source(params: CheckoutSessionCreate) -> None:
    given = [
        name
        for name in ("amount_fiat", "amount_fiat_cents", "line_items")
        if getattr(params, name) is not None
    ]
    if len(given) != 1:
        raise invalid_request(
            "parameters_exclusive" if given else "parameter_missing",
            "Give exactly one of amount_fiat (decimal string), amount_fiat_cents (integer) "
            "or line_items.",
            given[0] if given else "amount_fiat",
        )


@dataclass(frozen=True, slots=True)
class SessionAmount:
    amount: FiatAmount
    currency_param: str  # the parameter that named the currency, for errors about it
    lines: list[PricedLine]  # empty unless given as line_items


def _fiat_amount(params: CheckoutSessionCreate) -> SessionAmount:
    """The session's amount, and its line items when it was given as line items."""
    _check_one_amount_source(params)
    requested = _requested_currency(params)
    if params.line_items is not None:
        return _line_items_total(params.line_items, requested)
    if requested is None:
        raise invalid_request(
            "parameter_missing",
            "Missing required param: fiat_currency (ISO 4217, e.g. EUR).",
            "fiat_currency",
        )
    return SessionAmount(_amount_in(params, requested.code), requested.param, [])


def _amount_in(params: CheckoutSessionCreate, currency: str) -> FiatAmount:
    try:
        if params.amount_fiat is not None:
            return FiatAmount.parse(params.amount_fiat, currency)
        assert params.amount_fiat_cents is not None
        return FiatAmount.checked(params.amount_fiat_cents, currency)
    except MoneyError as error:
        param = "amount_fiat" if params.amount_fiat is not None else "amount_fiat_cents"
        raise invalid_request(error.code, str(error), param) from None


def _line_items_total(
    items: list[LineItemCreate], requested: RequestedCurrency | None
) -> SessionAmount:
    """Σ unit_amount × quantity, in the one currency every item (and the session) names."""
    currency = requested
    lines = []
    for index, item in enumerate(items):
        prefix = f"line_items[{index}][price_data]"
        try:
            item_currency = normalize_currency(item.price_data.currency)
        except MoneyError as error:
            raise invalid_request(error.code, str(error), f"{prefix}[currency]") from None
        if currency is None:
            currency = RequestedCurrency(item_currency, f"{prefix}[currency]")
        elif item_currency != currency.code:
            raise invalid_request(
                "currency_mismatch",
                f"{prefix}[currency] is {item_currency} but {currency.param} is "
                f"{currency.code}: a session and all its line items share one currency.",
                f"{prefix}[currency]",
            )
        product = item.price_data.product_data
        lines.append(
            PricedLine(
                name=product.name,
                description=product.description,
                unit_amount=_unit_amount(item.price_data, prefix),
                quantity=item.quantity,
            )
        )
    assert currency is not None  # line_items has at least one item
    try:
        total = FiatAmount.checked(sum(line.amount_total for line in lines), currency.code)
    except MoneyError as error:
        raise invalid_request(error.code, f"The line items' total: {error}", "line_items") from None
    return SessionAmount(total, currency.param, lines)


def _unit_amount(price: PriceData, prefix: str) -> int:
    """`unit_amount`, or `unit_amount_decimal` when it is a whole number of minor units."""
    if (price.unit_amount is None) == (price.unit_amount_decimal is None):
        raise invalid_request(
            "parameter_missing" if price.unit_amount is None else "parameters_exclusive",
            "Give exactly one of unit_amount (integer minor units) or unit_amount_decimal.",
            f"{prefix}[unit_amount]",
        )
    if price.unit_amount is not None:
        return price.unit_amount
    assert price.unit_amount_decimal is not None
    param = f"{prefix}[unit_amount_decimal]"
    text = price.unit_amount_decimal
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise invalid_request(
            "amount_invalid", f"{text!r} is not a decimal number.", param
        ) from None
    if not value.is_finite() or value < 0 or value.adjusted() > 15:
        raise invalid_request(
            "parameter_out_of_range",
            f"{param} must be a number from 0 to {MAX_AMOUNT_FIAT_CENTS}.",
            param,
        )
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if exponent < 0 and any(digits[len(digits) + exponent :]):
        # The total is charged in whole minor units; a fraction of a cent cannot be paid.
        raise invalid_request(
            "amount_precision_invalid",
            f"{param} must be a whole number of minor units (e.g. cents); {text!r} is not.",
            param,
        )
    units = int(value)
    if units > MAX_AMOUNT_FIAT_CENTS:
        raise invalid_request(
            "parameter_out_of_range",
            f"{param} must be a number from 0 to {MAX_AMOUNT_FIAT_CENTS}.",
            param,
        )
    return units


def _require_https_in_live_mode(params: CheckoutSessionCreate, livemode: bool) -> None:
    if not livemode:
        return
    for name in ("success_url", "cancel_url"):
        if urlsplit(getattr(params, name)).scheme != "https":
            raise invalid_request("url_invalid", f"{name} must use https in live mode.", name)


async def _check_payment_options(
    params: CheckoutSessionCreate,
    merchant: Merchant,
    livemode: bool,
    fiat_currency: str,
    currency_param: str,
) -> None:
    """Networks and currencies must be enabled, in the mode, and payable to the merchant.
    `fiat_currency` is the session's (upper case), named by `currency_param`: fiat_currency,
    currency or a line item's currency."""
    try:
        await check_session_options(
            merchant,
            livemode,
            list(dict.fromkeys(params.allowed_networks)),
            list(dict.fromkeys(params.allowed_crypto_currencies)),
        )
        check_session_currency(
            fiat_currency,
            list(params.allowed_networks),
            list(params.allowed_crypto_currencies),
            param=currency_param,
        )
    except PaymentRefused as error:
        raise refusal_error(error) from None


@blueprint.post("/checkout/sessions")
async def create_checkout_session() -> Response:
    caller = await authenticate(rate_limit=False)
    bucket, limit = rate_limit_bucket(caller.api_key)
    key = idempotency_key()
    if key is None:
        return await _create_spending_token(caller, bucket, limit)
    return await run_idempotent_rows(key, lambda: _rows_and_answer(caller), bucket, limit)


async def _create_spending_token(caller: Caller, bucket: str, limit: Limit) -> Response:
    """The hot path: the request's rate-limit token and the new rows in one round trip.
    A request refused before that still spends its token (and out of tokens, it is told
    429 rather than what was wrong), exactly as when `authenticate` spends it first."""
    try:
        rows, answer = await _rows_and_answer(caller)
    except Exception:
        await check_rate_limit(caller.api_key)
        raise
    wait = await insert_with_token(rows, bucket, limit)
    if wait:
        raise rate_limited(wait)
    return answer


async def _rows_and_answer(caller: Caller) -> tuple[list[Model], Response]:
    """The new session's rows (the session, then its line items) and the answer that tells
    of it, nothing written yet."""
    session, lines = await _new_session(caller)
    return [session, *lines], json_response(checkout_session_object(session))


async def _new_session(caller: Caller) -> tuple[CheckoutSession, list[LineItem]]:
    """The session the request asks for and its line items, checked, not stored yet. They
    are stored together or not at all: a session whose amount is the total of items it does
    not have would show the shopper a bill without its lines."""
    params = validate(CheckoutSessionCreate, await body_params())
    priced = _fiat_amount(params)
    amount = priced.amount
    _require_https_in_live_mode(params, caller.livemode)
    await _check_payment_options(
        params, caller.merchant, caller.livemode, amount.currency, priced.currency_param
    )
    settings = current_app.config["KASSA_SETTINGS"]
    now = utcnow()
    session_id = new_id("cs_live" if caller.livemode else "cs_test")
    session = new_row(
        CheckoutSession,
        id=session_id,
        merchant_id=caller.merchant_id,
        livemode=caller.livemode,
        status=SessionStatus.OPEN,
        mode=params.mode,
        locale=params.locale,
        amount_fiat_cents=amount.minor_units,
        fiat_currency=amount.currency,
        allowed_crypto_currencies=list(dict.fromkeys(params.allowed_crypto_currencies)),
        allowed_networks=list(dict.fromkeys(params.allowed_networks)),
        payment_id=None,
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
    lines = [
        new_row(
            LineItem,
            id=new_id("li"),
            session_id=session_id,
            position=position,
            name=line.name,
            description=line.description,
            currency=amount.currency,
            unit_amount=line.unit_amount,
            quantity=line.quantity,
            amount_total=line.amount_total,
        )
        for position, line in enumerate(priced.lines)
    ]
    return session, lines


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
    query = SessionFilters(status=params.status).apply(
        CheckoutSession.all(), merchant_id=caller.merchant_id, livemode=caller.livemode
    )
    if wants_csv():
        check_no_page_params(params)
        rows = sessions_csv(
            filter_created(query, params.created),
            merchant_id=caller.merchant_id,
            livemode=caller.livemode,
        )
        return csv_response(rows, "checkout_sessions.csv")
    page = await paginate(query, params, "/v1/checkout/sessions", checkout_session_object)
    return json_response(page)


@blueprint.get("/checkout/sessions/<session_id>/line_items")
async def list_line_items(session_id: str) -> Response:
    """What the session sells, in the order given at creation (Stripe's list of items)."""
    await authenticate()
    params = validate(LineItemListParams, query_params())
    session = await owned_by_caller(CheckoutSession, session_id, "checkout session")
    page = await paginate(
        LineItem.filter(session_id=session.id),
        params,
        f"/v1/checkout/sessions/{session.id}/line_items",
        line_item_object,
        order_field="position",
        newest_first=False,
    )
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
