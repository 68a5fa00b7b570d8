"""`/v1/events`: list (type filter with `*`), retrieve, resend."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from app.api.auth import authenticate, current_caller, owned_by_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import invalid_request, json_response
from app.api.idempotency import run_idempotent
from app.api.pagination import paginate
from app.api.schemas import EmptyParams, EventListParams, EventResend
from app.api.webhook_endpoints import render_deliveries
from app.models import Event, WebhookEndpoint
from app.objects import event_object, webhook_delivery_object
from app.states import WebhookEndpointStatus, utcnow
from app.webhooks.outbox import owed_to, schedule_redelivery

blueprint = Blueprint("events", __name__)


@blueprint.get("/events")
async def list_events() -> Response:
    caller = await authenticate()
    params = validate(EventListParams, query_params())
    query = Event.filter(merchant_id=caller.merchant_id, livemode=caller.livemode)
    if params.type is not None and params.type != "*":
        if params.type.endswith("*"):
            query = query.filter(type__startswith=params.type[:-1])
        else:
            query = query.filter(type=params.type)
    return json_response(await paginate(query, params, "/v1/events", event_object))


@blueprint.get("/events/<event_id>")
async def retrieve_event(event_id: str) -> Response:
    await authenticate()
    validate(EmptyParams, query_params())
    return json_response(event_object(await owned_by_caller(Event, event_id, "event")))


@blueprint.post("/events/<event_id>/resend")
async def resend_event(event_id: str) -> Response:
    await authenticate()

    async def resend() -> Response:
        caller = current_caller()
        params = validate(EventResend, await body_params())
        event = await owned_by_caller(Event, event_id, "event")
        endpoints = WebhookEndpoint.filter(
            merchant_id=caller.merchant_id,
            livemode=caller.livemode,
            status=WebhookEndpointStatus.ENABLED,
        )
        if params.endpoint is not None:
            named = await owned_by_caller(
                WebhookEndpoint, params.endpoint, "webhook endpoint", "endpoint"
            )
            if named.status != WebhookEndpointStatus.ENABLED:
                raise invalid_request(
                    "webhook_endpoint_disabled",
                    "That webhook endpoint is disabled; enable it first.",
                    "endpoint",
                )
            targets = [named.id]
        else:
            targets = [e.id for e in await endpoints if owed_to(e.id, e.enabled_events, event)]
        deliveries = await schedule_redelivery(event, targets, utcnow())
        rows = {d.id: d for d in deliveries}
        page: dict[str, Any] = {
            "object": "list",
            "url": f"/v1/events/{event.id}/resend",
            "has_more": False,
            "data": [webhook_delivery_object(d, event.type, []) for d in deliveries],
        }
        await render_deliveries(page, rows)
        return json_response(page)

    return await run_idempotent(resend)
