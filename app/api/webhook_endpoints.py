"""`/v1/webhook_endpoints`: create, retrieve, list, update, delete, rotate secret, deliveries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import Blueprint, Response, current_app

from app.api.auth import authenticate, current_caller, owned_by_caller
from app.api.bodies import body_params, query_params, validate
from app.api.errors import ApiError, invalid_request, json_response
from app.api.idempotency import run_idempotent
from app.api.pagination import paginate
from app.api.schemas import (
    EmptyParams,
    ListParams,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookSecretRotate,
)
from app.config import Settings
from app.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_id
from app.objects import webhook_delivery_object, webhook_endpoint_object
from app.secretbox import SecretBox, SecretKeyMissing
from app.ssrf import Resolver, SystemResolver, UnsafeUrl, check_url
from app.states import WebhookEndpointStatus, utcnow
from app.webhooks.signing import new_signing_secret, rotated_secrets, seal_secret, secret_box

blueprint = Blueprint("webhook_endpoints", __name__)

MAX_ENDPOINTS_PER_MODE = 16
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


async def _check_target(url: str, livemode: bool) -> None:
    try:
        await check_url(
            url,
            livemode=livemode,
            allow_private=_settings().webhooks_allow_private_targets,
            resolver=resolver(),
        )
    except UnsafeUrl as error:
        raise invalid_request("url_invalid", error.message, "url") from None


@blueprint.post("/webhook_endpoints")
async def create_webhook_endpoint() -> Response:
    await authenticate()
    return await run_idempotent(_create_webhook_endpoint, sealed=True)


async def _create_webhook_endpoint() -> Response:
    caller = current_caller()
    params = validate(WebhookEndpointCreate, await body_params())
    box = _box()
    await _check_target(params.url, caller.livemode)
    existing = await WebhookEndpoint.filter(
        merchant_id=caller.merchant_id, livemode=caller.livemode
    ).count()
    if existing >= MAX_ENDPOINTS_PER_MODE:
        raise invalid_request(
            "webhook_endpoints_limit",
            f"At most {MAX_ENDPOINTS_PER_MODE} webhook endpoints per mode; delete one first.",
        )
    now = utcnow()
    endpoint_id = new_id("we")
    secret = new_signing_secret()
    endpoint = await WebhookEndpoint.create(
        id=endpoint_id,
        merchant_id=caller.merchant_id,
        livemode=caller.livemode,
        url=params.url,
        description=params.description,
        enabled_events=list(dict.fromkeys(params.enabled_events)),
        metadata=params.metadata,
        status=WebhookEndpointStatus.ENABLED,
        signing_secrets=[seal_secret(box, endpoint_id, secret)],
        created_at=now,
        updated_at=now,
    )
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
        caller = current_caller()
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
        changes: dict[str, Any] = {}
        if params.url is not None and params.url != endpoint.url:
            await _check_target(params.url, caller.livemode)
            changes["url"] = params.url
        if params.enabled_events is not None:
            changes["enabled_events"] = list(dict.fromkeys(params.enabled_events))
        if "description" in params.model_fields_set:
            changes["description"] = params.description
        if params.metadata is not None:
            changes["metadata"] = params.metadata
        if status is not None and status != endpoint.status:
            changes["status"] = status
            changes["disabled_reason"] = (
                None if status == WebhookEndpointStatus.ENABLED else "Disabled via the API."
            )
        if changes:
            changes["updated_at"] = utcnow()
            await WebhookEndpoint.filter(id=endpoint.id).update(**changes)
            for name, value in changes.items():
                setattr(endpoint, name, value)
        return json_response(webhook_endpoint_object(endpoint))

    return await run_idempotent(update)


@blueprint.delete("/webhook_endpoints/<endpoint_id>")
async def delete_webhook_endpoint(endpoint_id: str) -> Response:
    await authenticate()

    async def delete() -> Response:
        validate(EmptyParams, await body_params())
        endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
        # Deliveries and attempts go with it (ON DELETE CASCADE); an in-flight attempt's
        # result then updates nothing.
        await WebhookEndpoint.filter(id=endpoint.id).delete()
        return json_response({"id": endpoint.id, "object": "webhook_endpoint", "deleted": True})

    return await run_idempotent(delete)


@blueprint.post("/webhook_endpoints/<endpoint_id>/rotate_secret")
async def rotate_webhook_secret(endpoint_id: str) -> Response:
    await authenticate()

    async def rotate() -> Response:
        params = validate(WebhookSecretRotate, await body_params())
        box = _box()
        endpoint = await owned_by_caller(WebhookEndpoint, endpoint_id, "webhook endpoint")
        now = utcnow()
        secret = new_signing_secret()
        kept = rotated_secrets(box, endpoint, secret, dt.timedelta(seconds=params.expires_in), now)
        await WebhookEndpoint.filter(id=endpoint.id).update(signing_secrets=kept, updated_at=now)
        endpoint.signing_secrets = kept
        return json_response(webhook_endpoint_object(endpoint, secret))

    return await run_idempotent(rotate, sealed=True)


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
