"""`/v1/webhook_endpoints`: create, retrieve, list, update, delete, rotate secret, test,
deliveries. The changes are `app.webhooks.endpoints`' services, which the dashboard calls too."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import Blueprint, Response, current_app, request

from app.api.auth import authenticate, current_caller, owned_by_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import ApiError, invalid_request, json_response, refusal_error
from app.api.idempotency import run_idempotent
from app.api.pagination import paginate
from app.api.schemas import (
    EmptyParams,
    ListParams,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookSecretRotate,
)
from app.audit import key_actor
from app.config import Settings
from app.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.objects import event_object, webhook_delivery_object, webhook_endpoint_object
from app.proxies import client_address, trusted_networks
from app.secretbox import SecretBox, SecretKeyMissing
from app.ssrf import Resolver, SystemResolver
from app.states import WebhookEndpointStatus
from app.webhooks.endpoints import (
    KEEP,
    Actor,
    EndpointRefused,
    UrlPolicy,
    create_endpoint,
    delete_endpoint,
    rotate_secret,
    send_test_event,
    update_endpoint,
)
from app.webhooks.signing import secret_box

blueprint = Blueprint("webhook_endpoints", __name__)

ATTEMPTS_SHOWN = 10


def _settings() -> Settings:
    settings: Settings = current_app.config["KASSA_SETTINGS"]
    return settings


def resolver() -> Resolver:
    """The DNS resolver for URL checks; tests put a fake one in the app config."""
    configured: Resolver | None = current_app.config.get("KASSA_RESOLVER")
    return configured or SystemResolver()


def _box() -> SecretBox:
    try:
        return secret_box(_settings())
    except SecretKeyMissing as error:
        current_app.logger.error("%s", error)
        raise ApiError(
            500,
            "api_error",
            "secret_key_missing",
            "This Kassa server cannot store webhook secrets: its operator has not set "
            "KASSA_SECRET_KEY. " + str(error),
        ) from None


def url_policy() -> UrlPolicy:
    return UrlPolicy(_settings().webhooks_allow_private_targets, resolver())


def _actor() -> Actor:
    caller = current_caller()
    return Actor(key_actor(caller.api_key.id), _client_ip())


def _client_ip() -> str:
    proxies = current_app.config.get("KASSA_TRUSTED_PROXIES")
    if proxies is None:
        proxies = trusted_networks(_settings().trusted_proxies)
        current_app.config["KASSA_TRUSTED_PROXIES"] = proxies
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), proxies)


@blueprint.post("/webhook_endpoints")
async def create_webhook_endpoint() -> Response:
    await authenticate()
    return await run_idempotent(_create_webhook_endpoint, sealed=True)


async def _create_webhook_endpoint() -> Response:
    caller = current_caller()
    params = validate(WebhookEndpointCreate, await body_params())
    try:
        endpoint, secret = await create_endpoint(
            merchant_id=caller.merchant_id,
            livemode=caller.livemode,
            url=params.url,
            enabled_events=list(params.enabled_events),
            description=params.description,
            metadata=params.metadata,
            box=_box(),
            policy=url_policy(),
            actor=_actor(),
        )
    except EndpointRefused as error:
        raise refusal_error(error) from None
    return json_response(webhook_endpoint_object(endpoint, secret))


@blueprint.get("/webhook_endpoints/<endpoint_id>")
async def retrieve_webhook_endpoint(endpoint_id: str) -> Response:
    await authenticate()
    validate(EmptyParams, query_params())
    endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
    return json_response(webhook_endpoint_object(endpoint))


@blueprint.get("/webhook_endpoints")
async def list_webhook_endpoints() -> Response:
    caller = await authenticate()
    params = validate(ListParams, query_params())
    query = WebhookEndpoint.filter(merchant_id=caller.merchant_id, livemode=caller.livemode)
    page = await paginate(query, params, "/v1/webhook_endpoints", webhook_endpoint_object)
    return json_response(page)


@blueprint.post("/webhook_endpoints/<endpoint_id>")
async def update_webhook_endpoint(endpoint_id: str) -> Response:
    await authenticate()

    async def update() -> Response:
        params = validate(WebhookEndpointUpdate, await body_params())
        endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
        status: WebhookEndpointStatus | None = params.status
        if params.disabled is not None:
            wanted = (
                WebhookEndpointStatus.DISABLED if params.disabled else WebhookEndpointStatus.ENABLED
            )
            if status is not None and status != wanted:
                raise invalid_request(
                    "parameters_exclusive", "disabled and status disagree.", "disabled"
                )
            status = wanted
        given = params.model_fields_set
        try:
            await update_endpoint(
                endpoint,
                policy=url_policy(),
                actor=_actor(),
                url=params.url,
                enabled_events=params.enabled_events,
                description=params.description if "description" in given else KEEP,
                metadata=params.metadata,
                status=status,
            )
        except EndpointRefused as error:
            raise refusal_error(error) from None
        return json_response(webhook_endpoint_object(endpoint))

    return await run_idempotent(update)


@blueprint.delete("/webhook_endpoints/<endpoint_id>")
async def delete_webhook_endpoint(endpoint_id: str) -> Response:
    await authenticate()

    async def delete() -> Response:
        validate(EmptyParams, await body_params())
        endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
        await delete_endpoint(endpoint, actor=_actor())
        return json_response({"id": endpoint.id, "object": "webhook_endpoint", "deleted": True})

    return await run_idempotent(delete)


@blueprint.post("/webhook_endpoints/<endpoint_id>/rotate_secret")
async def rotate_webhook_secret(endpoint_id: str) -> Response:
    await authenticate()

    async def rotate() -> Response:
        params = validate(WebhookSecretRotate, await body_params())
        box = _box()
        endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
        secret = await rotate_secret(
            endpoint, expires_in=dt.timedelta(seconds=params.expires_in), box=box, actor=_actor()
        )
        return json_response(webhook_endpoint_object(endpoint, secret))

    return await run_idempotent(rotate, sealed=True)


@blueprint.post("/webhook_endpoints/<endpoint_id>/test")
async def test_webhook_endpoint(endpoint_id: str) -> Response:
    """Owe the endpoint a `webhook_endpoint.test` event (whatever it subscribes to); the
    answer is the event, its delivery shows in the endpoint's deliveries."""
    await authenticate()

    async def send() -> Response:
        validate(EmptyParams, await body_params())
        endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
        try:
            event = await send_test_event(endpoint, actor=_actor())
        except EndpointRefused as error:
            raise refusal_error(error) from None
        return json_response(event_object(event))

    return await run_idempotent(send)


async def render_deliveries(page: dict[str, Any], rows_by_id: dict[str, Any]) -> None:
    """Fill in event types and recent attempts for a page of deliveries (two queries)."""
    ids = [item["id"] for item in page["data"]]
    if not ids:
        return
    event_ids = list({item["event"] for item in page["data"]})
    types = dict(await Event.filter(id__in=event_ids).values_list("id", "type"))
    attempts: dict[str, list[WebhookAttempt]] = {}
    for attempt in await WebhookAttempt.filter(delivery_id__in=ids).order_by("-id"):
        shown = attempts.setdefault(attempt.delivery_id, [])  # type: ignore[attr-defined]
        if len(shown) < ATTEMPTS_SHOWN:
            shown.append(attempt)
    page["data"] = [
        webhook_delivery_object(
            rows_by_id[item["id"]], str(types.get(item["event"], "")), attempts.get(item["id"], [])
        )
        for item in page["data"]
    ]


@blueprint.get("/webhook_endpoints/<endpoint_id>/deliveries")
async def list_webhook_deliveries(endpoint_id: str) -> Response:
    await authenticate()
    params = validate(ListParams, query_params())
    endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
    rows: dict[str, WebhookDelivery] = {}

    def remember(delivery: WebhookDelivery) -> dict[str, Any]:
        rows[delivery.id] = delivery
        return webhook_delivery_object(delivery, "", [])

    page = await paginate(
        WebhookDelivery.filter(endpoint_id=endpoint.id),
        params,
        f"/v1/webhook_endpoints/{endpoint.id}/deliveries",
        remember,
    )
    await render_deliveries(page, rows)
    return json_response(page)
