"""`/v1/refunds`: create, retrieve, list, cancel; thin over `app.refunds`."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, g, request

from app.api.auth import authenticate, current_caller, owned_by_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import invalid_request, json_response, refusal_error
from app.api.idempotency import run_idempotent
from app.api.pagination import paginate
from app.api.schemas import EmptyParams, RefundCreate, RefundListParams
from app.audit import key_actor
from app.checkout.routes import shopper_address
from app.config import Settings
from app.models import Payment, Refund
from app.money import MoneyError, decimal_to_base_units
from app.networks import current_registry
from app.objects import refund_object
from app.refunds import RefundRefused, cancel_refund, create_refund, send_claim_email

blueprint = Blueprint("refunds", __name__)


def _settings() -> Settings:
    settings: Settings = current_app.config["KASSA_SETTINGS"]
    return settings


def _amount(params: RefundCreate, payment: Payment) -> int | None:
    """The amount in base units from whichever spelling was given (None: the default)."""
    if params.amount_crypto is not None and params.amount_base_units is not None:
        raise invalid_request(
            "parameters_exclusive",
            "Give amount_crypto or amount_base_units, not both.",
            "amount_base_units",
        )
    if params.amount_base_units is not None:
        return int(params.amount_base_units)
    if params.amount_crypto is None:
        return None
    try:
        return decimal_to_base_units(params.amount_crypto, payment.decimals)
    except MoneyError as error:
        raise invalid_request(error.code, str(error), "amount_crypto") from None


@blueprint.post("/refunds")
async def create_refund_endpoint() -> Response:
    await authenticate()
    created: list[Refund] = []

    async def create() -> Response:
        caller = current_caller()
        params = validate(RefundCreate, await body_params())
        payment = await owned_by_caller(Payment, params.payment, "payment", "payment")
        try:
            refund = await create_refund(
                payment,
                registry=current_registry(),
                actor=key_actor(caller.api_key.id),
                amount=_amount(params, payment),
                reason=params.reason,
                metadata=params.metadata,
                ip=shopper_address(),
                request_id=g.request_id,
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
        except RefundRefused as error:
            raise refusal_error(error) from None
        created.append(refund)
        return json_response(refund_object(refund))

    response = await run_idempotent(create)
    # Committed by now (the key's transaction encloses the handler's); a replay sends nothing.
    for refund in created:
        await send_claim_email(refund, _settings())
    return response


@blueprint.get("/refunds/<refund_id>")
async def retrieve_refund(refund_id: str) -> Response:
    await authenticate()
    validate(EmptyParams, query_params())
    return json_response(refund_object(await owned_by_caller(Refund, refund_id, "refund")))


@blueprint.get("/refunds")
async def list_refunds() -> Response:
    caller = await authenticate()
    params = validate(RefundListParams, query_params())
    query = Refund.filter(merchant_id=caller.merchant_id, livemode=caller.livemode)
    if params.payment is not None:
        # An id longer than the payments' id column names no payment (and Tortoise refuses
        # to compare it): no refunds, as for any unknown payment.
        id_width = getattr(Payment._meta.pk, "max_length", None) or len(params.payment)
        fits = len(params.payment) <= id_width
        query = query.filter(payment_id__in=[params.payment] if fits else [])
    if params.status is not None:
        query = query.filter(status=params.status)
    return json_response(await paginate(query, params, "/v1/refunds", refund_object))


@blueprint.post("/refunds/<refund_id>/cancel")
async def cancel_refund_endpoint(refund_id: str) -> Response:
    await authenticate()

    async def cancel() -> Response:
        caller = current_caller()
        validate(EmptyParams, await body_params())
        refund = await owned_by_caller(Refund, refund_id, "refund")
        try:
            await cancel_refund(
                refund,
                actor=key_actor(caller.api_key.id),
                ip=shopper_address(),
                request_id=g.request_id,
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
        except RefundRefused as error:
            raise refusal_error(error) from None
        return json_response(refund_object(refund))

    return await run_idempotent(cancel)
