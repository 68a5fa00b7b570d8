"""`/v1/checkout/sessions/{id}/payments` and `/v1/payments/{id}`: thin over `app.payments`."""

from __future__ import annotations

from quart import Blueprint, Response, g

from app.api.auth import authenticate, current_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import ApiError, json_response, not_found
from app.api.idempotency import run_idempotent
from app.api.schemas import EmptyParams, PaymentCreate
from app.models import CheckoutSession, Payment
from app.objects import payment_object
from app.payments import PaymentRefused, create_payment

blueprint = Blueprint("payments", __name__)


def refused(error: PaymentRefused) -> ApiError:
    kind = "invalid_request_error" if error.status < 500 else "api_error"
    return ApiError(error.status, kind, error.code, error.message, error.param)


@blueprint.post("/checkout/sessions/<session_id>/payments")
async def create_session_payment(session_id: str) -> Response:
    await authenticate()

    async def create() -> Response:
        caller = current_caller()
        params = validate(PaymentCreate, await body_params())
        session = await CheckoutSession.get_or_none(
            id=session_id, merchant_id=caller.merchant_id, livemode=caller.livemode
        )
        if session is None:
            raise not_found("checkout session", session_id)
        try:
            payment = await create_payment(
                session, params.network, params.crypto_currency, request_id=g.request_id
            )
        except PaymentRefused as error:
            raise refused(error) from None
        return json_response(payment_object(payment))

    return await run_idempotent(create)


@blueprint.get("/payments/<payment_id>")
async def retrieve_payment(payment_id: str) -> Response:
    caller = await authenticate()
    validate(EmptyParams, query_params())
    payment = await Payment.get_or_none(
        id=payment_id, merchant_id=caller.merchant_id, livemode=caller.livemode
    )
    if payment is None:
        raise not_found("payment", payment_id)
    return json_response(payment_object(payment))
