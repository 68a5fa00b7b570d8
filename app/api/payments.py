"""`/v1/checkout/sessions/{id}/payments` and `/v1/payments/{id}`: thin over `app.payments`."""

from __future__ import annotations

from quart import Blueprint, Response, g

from app.api.auth import authenticate, owned_by_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import json_response, refusal_error
from app.api.idempotency import run_idempotent
from app.api.schemas import EmptyParams, PaymentCreate
from app.models import CheckoutSession, Payment
from app.objects import payment_object
from app.payments import PaymentRefused, create_payment

blueprint = Blueprint("payments", __name__)


@blueprint.post("/checkout/sessions/<session_id>/payments")
async def create_session_payment(session_id: str) -> Response:
    await authenticate()

    async def create() -> Response:
        params = validate(PaymentCreate, await body_params())
        session = await owned_by_caller(CheckoutSession, session_id, "checkout session")
        try:
            payment = await create_payment(
                session, params.network, params.crypto_currency, request_id=g.request_id
            )
        except PaymentRefused as error:
            raise refusal_error(error) from None
        return json_response(payment_object(payment))

    return await run_idempotent(create)


@blueprint.get("/payments/<payment_id>")
async def retrieve_payment(payment_id: str) -> Response:
    await authenticate()
    validate(EmptyParams, query_params())
    return json_response(payment_object(await owned_by_caller(Payment, payment_id, "payment")))
