"""Webhook endpoints in the dashboard: list, create, edit, disable/enable, rotate the secret,
send a test event, delete, and each endpoint's delivery log.

Every change is a service of `app.webhooks.endpoints`, the same the API calls (URL policy,
per-mode limit, sealing, audit entry); the form's fields are checked by the API's own schema.
Viewers read; developers and owners change. Endpoints are the toggle's mode's only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from quart import Response, request

from app.api.errors import ApiError, from_validation_error
from app.api.pagination import paginate
from app.api.schemas import CursorParams, WebhookEndpointCreate
from app.api.webhook_endpoints import render_deliveries, url_policy
from app.dashboard.users import Role
from app.dashboard.web import (
    dashboard_blueprint,
    error_page,
    keep_shown_once,
    owned,
    redirect_to,
    render,
    requires,
    settings,
    signed_in,
    take_shown_once,
)
from app.models import WebhookDelivery, WebhookEndpoint
from app.objects import webhook_delivery_object
from app.secretbox import SecretBox, SecretKeyMissing
from app.states import EventType, WebhookEndpointStatus
from app.webhooks.endpoints import (
    Actor,
    EndpointRefused,
    create_endpoint,
    delete_endpoint,
    rotate_secret,
    send_test_event,
    update_endpoint,
)
from app.webhooks.signing import secret_box

webhooks = dashboard_blueprint("dashboard_webhooks")

DELIVERIES_PER_PAGE = 20
# What the create form offers: everything, or any of the types merchants subscribe to (the
# test event is sent on request, whatever an endpoint subscribes to).
EVENT_CHOICES = ["*"] + [t.value for t in EventType if t != EventType.WEBHOOK_ENDPOINT_TEST]
# How long the old secret keeps signing after a rotation, as the form offers it.
OVERLAPS = {"86400": "24 hours", "3600": "1 hour", "0": "None: the old secret stops now"}
# What the endpoint's page says after a change (`?done=`): changes that show no secret answer
# with a redirect, so reloading the page does not send the form again.
NOTICES = {
    "enabled": "Enabled: it is sent the events it subscribes to.",
    "disabled": "Disabled: it is sent nothing until you enable it again.",
    "tested": "A test event is on its way; reload to see its delivery below.",
    "edited": "Saved: the next deliveries go to this URL, for these events.",
}
# What the list says after an endpoint was deleted (`?done=deleted`).
DELETED = "Deleted, with its delivery log: it is sent nothing more."
NO_SECRET_KEY = (
    "This Kassa server cannot store webhook secrets: its operator has not set "
    "KASSA_SECRET_KEY (see docs/operations.md)."
)


def _actor() -> Actor:
    signed = signed_in()
    return Actor(signed.actor, signed.ip)


def _box() -> SecretBox:
    return secret_box(settings())


async def _endpoints() -> list[WebhookEndpoint]:
    signed = signed_in()
    return await WebhookEndpoint.filter(
        merchant_id=signed.merchant_id, livemode=signed.livemode
    ).order_by("-created_at", "-id")


async def _list_page(status: int = 200, **context: Any) -> Response:
    return await render(
        "dashboard/webhooks.html",
        status=status,
        endpoints=await _endpoints(),
        event_choices=EVENT_CHOICES,
        may_change=signed_in().may(Role.DEVELOPER),
        **context,
    )


@webhooks.get("/webhooks")
@requires(Role.VIEWER)
async def webhooks_page() -> Response:
    shown = request.args.get("shown", "")
    if shown:  # the page after "Add endpoint": its signing secret, this once
        kept = take_shown_once(shown)
        created = await owned(WebhookEndpoint, kept["endpoint"]) if kept is not None else None
        if kept is not None and created is not None:
            return await _list_page(form={"events": ["*"]}, created=created, secret=kept["secret"])
        return await _list_page(
            form={"events": ["*"]},
            notice="The new endpoint's signing secret is no longer shown: it is shown once. "
            "If you did not copy it, rotate it on the endpoint's page.",
        )
    notice = DELETED if request.args.get("done") == "deleted" else ""
    return await _list_page(form={"events": ["*"]}, notice=notice)


@webhooks.post("/webhooks")
@requires(Role.DEVELOPER)
async def create_webhook() -> Response:
    signed = signed_in()
    entered = await _entered()
    try:
        params = _checked(entered)
    except ValidationError as error:
        return await _list_page(400, form=entered, error=_form_message(error))
    try:
        endpoint, secret = await create_endpoint(
            merchant_id=signed.merchant_id,
            livemode=signed.livemode,
            url=params.url,
            enabled_events=list(params.enabled_events),
            description=params.description,
            metadata={},
            box=_box(),
            policy=url_policy(),
            actor=_actor(),
        )
    except EndpointRefused as refused:
        return await _list_page(400, form=entered, error=refused.message)
    except SecretKeyMissing:
        return await _list_page(500, form=entered, error=NO_SECRET_KEY)
    # A redirect, so reloading the page does not add another endpoint.
    kept = keep_shown_once({"endpoint": endpoint.id, "secret": secret})
    return redirect_to(f"/dashboard/webhooks?shown={kept}")


async def _entered() -> dict[str, Any]:
    """The endpoint form as entered (shown again when it is refused)."""
    form = await request.form
    return {
        "url": form.get("url", "").strip(),
        "description": form.get("description", "").strip(),
        "events": form.getlist("events"),
    }


def _checked(entered: dict[str, Any]) -> WebhookEndpointCreate:
    """The form's fields, checked by the API's schema (ValidationError)."""
    return WebhookEndpointCreate.model_validate(
        {
            "url": entered["url"],
            "enabled_events": entered["events"],
            "description": entered["description"] or None,
        }
    )


def _form_message(error: ValidationError) -> str:
    """The API's message for the first problem, named by the form's labels."""
    problem = from_validation_error(error)
    if problem.param == "enabled_events" or problem.code == "parameter_missing":
        return "Choose at least one event type (or all events)."
    message = problem.message.split(": ", 1)[-1] if problem.param else problem.message
    labels = {"url": "Endpoint URL", "description": "Description", "enabled_events": "Events"}
    label = labels.get((problem.param or "").split("[")[0], "")
    return f"{label}: {message}" if label else message


# ----------------------------------------------------------------------------- one endpoint


async def _own_endpoint(endpoint_id: str) -> WebhookEndpoint | None:
    """The signed-in merchant's endpoint in the toggle's mode; anything else is None (404)."""
    return await owned(WebhookEndpoint, endpoint_id)


async def _deliveries(endpoint: WebhookEndpoint) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the endpoint's deliveries (newest first, with recent attempts, as the API
    shows them) and the link to the older ones."""
    after = request.args.get("starting_after") or None
    rows: dict[str, WebhookDelivery] = {}

    def remember(delivery: WebhookDelivery) -> dict[str, Any]:
        rows[delivery.id] = delivery
        return webhook_delivery_object(delivery, "", [])

    path = f"/dashboard/webhooks/{endpoint.id}"
    query = WebhookDelivery.filter(endpoint_id=endpoint.id)
    try:
        params = CursorParams(limit=DELIVERIES_PER_PAGE, starting_after=after)
        page = await paginate(query, params, path, remember)
    except (ValidationError, ApiError):  # a stale or foreign cursor: start from the newest
        page = await paginate(query, CursorParams(limit=DELIVERIES_PER_PAGE), path, remember)
    await render_deliveries(page, rows)
    older = None
    if page["has_more"] and page["data"]:
        older = f"{path}?" + urlencode({"starting_after": page["data"][-1]["id"]})
    return page["data"], older


async def _endpoint_page(endpoint: WebhookEndpoint, status: int = 200, **context: Any) -> Response:
    deliveries, older = await _deliveries(endpoint)
    # The edit form shows what is saved, or what was entered when it was refused.
    context.setdefault(
        "form",
        {
            "url": endpoint.url,
            "description": endpoint.description or "",
            "events": list(endpoint.enabled_events),
        },
    )
    return await render(
        "dashboard/webhook.html",
        status=status,
        endpoint=endpoint,
        deliveries=deliveries,
        older=older,
        overlaps=OVERLAPS,
        event_choices=EVENT_CHOICES,
        may_change=signed_in().may(Role.DEVELOPER),
        **context,
    )


async def _not_found() -> Response:
    return await error_page(404, "No such webhook endpoint in this mode.")


@webhooks.get("/webhooks/<endpoint_id>")
@requires(Role.VIEWER)
async def webhook_page(endpoint_id: str) -> Response:
    endpoint = await _own_endpoint(endpoint_id)
    if endpoint is None:
        return await _not_found()
    shown = request.args.get("shown", "")
    if shown:  # the page after "Rotate secret": the new secret, this once
        kept = take_shown_once(shown)
        if kept is not None and kept["endpoint"] == endpoint.id:
            return await _endpoint_page(endpoint, secret=kept["secret"], overlap=kept["overlap"])
        return await _endpoint_page(
            endpoint,
            notice="The new signing secret is no longer shown: it is shown once. If you did "
            "not copy it, rotate again.",
        )
    return await _endpoint_page(endpoint, notice=NOTICES.get(request.args.get("done", ""), ""))


@webhooks.post("/webhooks/<endpoint_id>/disable")
@requires(Role.DEVELOPER)
async def disable_webhook(endpoint_id: str) -> Response:
    return await _set_status(endpoint_id, WebhookEndpointStatus.DISABLED)


@webhooks.post("/webhooks/<endpoint_id>/enable")
@requires(Role.DEVELOPER)
async def enable_webhook(endpoint_id: str) -> Response:
    return await _set_status(endpoint_id, WebhookEndpointStatus.ENABLED)


async def _set_status(endpoint_id: str, status: WebhookEndpointStatus) -> Response:
    endpoint = await _own_endpoint(endpoint_id)
    if endpoint is None:
        return await _not_found()
    await update_endpoint(
        endpoint,
        policy=url_policy(),
        actor=_actor(),
        status=status,
        disabled_reason="Disabled in the dashboard.",
    )
    return redirect_to(f"/dashboard/webhooks/{endpoint.id}?done={status}")


@webhooks.post("/webhooks/<endpoint_id>/rotate")
@requires(Role.DEVELOPER)
async def rotate_webhook_secret(endpoint_id: str) -> Response:
    endpoint = await _own_endpoint(endpoint_id)
    if endpoint is None:
        return await _not_found()
    overlap = (await request.form).get("expires_in", "86400")
    if overlap not in OVERLAPS:
        return await _endpoint_page(endpoint, 400, error="Choose how long the old secret lasts.")
    try:
        secret = await rotate_secret(
            endpoint,
            expires_in=dt.timedelta(seconds=int(overlap)),
            box=_box(),
            actor=_actor(),
        )
    except SecretKeyMissing:
        return await _endpoint_page(endpoint, 500, error=NO_SECRET_KEY)
    # A redirect, so reloading the page does not rotate again.
    kept = keep_shown_once(
        {"endpoint": endpoint.id, "secret": secret, "overlap": OVERLAPS[overlap]}
    )
    return redirect_to(f"/dashboard/webhooks/{endpoint.id}?shown={kept}")


@webhooks.post("/webhooks/<endpoint_id>/test")
@requires(Role.DEVELOPER)
async def test_webhook(endpoint_id: str) -> Response:
    endpoint = await _own_endpoint(endpoint_id)
    if endpoint is None:
        return await _not_found()
    try:
        await send_test_event(endpoint, actor=_actor())
    except EndpointRefused as refused:
        return await _endpoint_page(endpoint, 400, error=refused.message)
    return redirect_to(f"/dashboard/webhooks/{endpoint.id}?done=tested")


@webhooks.post("/webhooks/<endpoint_id>/edit")
@requires(Role.DEVELOPER)
async def edit_webhook(endpoint_id: str) -> Response:
    endpoint = await _own_endpoint(endpoint_id)
    if endpoint is None:
        return await _not_found()
    entered = await _entered()
    try:
        params = _checked(entered)
        await update_endpoint(
            endpoint,
            policy=url_policy(),
            actor=_actor(),
            url=params.url,
            enabled_events=list(params.enabled_events),
            description=params.description,
        )
    except ValidationError as error:
        return await _endpoint_page(endpoint, 400, form=entered, error=_form_message(error))
    except EndpointRefused as refused:
        return await _endpoint_page(endpoint, 400, form=entered, error=refused.message)
    return redirect_to(f"/dashboard/webhooks/{endpoint.id}?done=edited")


@webhooks.post("/webhooks/<endpoint_id>/delete")
@requires(Role.DEVELOPER)
async def delete_webhook(endpoint_id: str) -> Response:
    endpoint = await _own_endpoint(endpoint_id)
    if endpoint is None:
        return await _not_found()
    if (await request.form).get("confirm") != "yes":
        error = "Tick the box to confirm: the endpoint and its delivery log are deleted."
        return await _endpoint_page(endpoint, 400, error=error)
    await delete_endpoint(endpoint, actor=_actor())
    return redirect_to("/dashboard/webhooks?done=deleted")
