"""Webhook endpoint services: create, change, rotate the secret, send a test event.

The API (`app.api.webhook_endpoints`) and the dashboard (`app.dashboard.webhooks`) both call
these, so the URL policy (SSRF rules), the per-mode limit, secret sealing and the audit entry
are the same whichever way a merchant makes the change. Parameters arrive already parsed (the
API's pydantic schemas, which the dashboard's forms reuse); what only the database or the
network can answer (the limit, the URL's addresses) is checked here and refused with
`EndpointRefused`, whose message is safe to show the merchant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from app.audit import audit
from app.models import Event, WebhookEndpoint, new_id
from app.objects import webhook_endpoint_object
from app.refusals import Refused
from app.secretbox import SecretBox
from app.ssrf import Resolver, UnsafeUrl, check_url
from app.states import EventType, WebhookEndpointStatus, append_event, utcnow
from app.webhooks.signing import new_signing_secret, rotated_secrets, seal_secret

MAX_ENDPOINTS_PER_MODE = 16


class EndpointRefused(Refused):
    """A webhook endpoint change Kassa will not make (API: 400)."""


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Where endpoints may point: the operator's setting and the resolver (tests fake it)."""

    allow_private: bool
    resolver: Resolver


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit log (`app.audit`'s actor strings)."""

    name: str
    ip: str | None = None


async def check_target(url: str, livemode: bool, policy: UrlPolicy) -> None:
    try:
        await check_url(
            url, livemode=livemode, allow_private=policy.allow_private, resolver=policy.resolver
        )
    except UnsafeUrl as error:
        raise EndpointRefused("url_invalid", error.message, "url") from None


async def create_endpoint(
    *,
    merchant_id: str,
    livemode: bool,
    url: str,
    enabled_events: list[str],
    description: str | None,
    metadata: dict[str, str],
    box: SecretBox,
    policy: UrlPolicy,
    actor: Actor,
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its signing secret (returned once, stored sealed)."""
    await check_target(url, livemode, policy)
    existing = await WebhookEndpoint.filter(merchant_id=merchant_id, livemode=livemode).count()
    if existing >= MAX_ENDPOINTS_PER_MODE:
        raise EndpointRefused(
            "webhook_endpoints_limit",
            f"At most {MAX_ENDPOINTS_PER_MODE} webhook endpoints per mode; delete one first.",
        )
    now = utcnow()
    endpoint_id = new_id("we")
    secret = new_signing_secret()
    async with in_transaction() as connection:
        endpoint = await WebhookEndpoint.create(
            id=endpoint_id,
            merchant_id=merchant_id,
            livemode=livemode,
            url=url,
            description=description,
            enabled_events=list(dict.fromkeys(enabled_events)),
            metadata=metadata,
            status=WebhookEndpointStatus.ENABLED,
            signing_secrets=[seal_secret(box, endpoint_id, secret)],
            created_at=now,
            updated_at=now,
            using_db=connection,
        )
        await _audit(endpoint, actor, "webhook_endpoint.created", {"url": url}, connection)
    return endpoint, secret


# `update_endpoint(description=...)` leaves the description alone unless given (None clears it).
KEEP: Any = object()


async def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    policy: UrlPolicy,
    actor: Actor,
    url: str | None = None,
    enabled_events: list[str] | None = None,
    description: str | None = KEEP,
    metadata: dict[str, str] | None = None,
    status: WebhookEndpointStatus | None = None,
    disabled_reason: str = "Disabled via the API.",
) -> WebhookEndpoint:
    """Change only what is given; `endpoint` is updated in place and returned."""
    changes: dict[str, Any] = {}
    if url is not None and url != endpoint.url:
        await check_target(url, endpoint.livemode, policy)
        changes["url"] = url
    if enabled_events is not None:
        changes["enabled_events"] = list(dict.fromkeys(enabled_events))
    if description is not KEEP:
        changes["description"] = description
    if metadata is not None:
        changes["metadata"] = metadata
    if status is not None and status != endpoint.status:
        changes["status"] = status
        changes["disabled_reason"] = (
            None if status == WebhookEndpointStatus.ENABLED else disabled_reason
        )
    if not changes:
        return endpoint
    changes["updated_at"] = utcnow()
    async with in_transaction() as connection:
        await WebhookEndpoint.filter(id=endpoint.id).using_db(connection).update(**changes)
        action = {
            WebhookEndpointStatus.ENABLED: "webhook_endpoint.enabled",
            WebhookEndpointStatus.DISABLED: "webhook_endpoint.disabled",
        }.get(changes.get("status"), "webhook_endpoint.updated")  # type: ignore[arg-type]
        changed = sorted(name for name in changes if name != "updated_at")
        await _audit(endpoint, actor, action, {"changed": changed}, connection)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    return endpoint


async def rotate_secret(
    endpoint: WebhookEndpoint, *, expires_in: dt.timedelta, box: SecretBox, actor: Actor
) -> str:
    """A new signing secret (returned once); the old one keeps signing for `expires_in`."""
    now = utcnow()
    secret = new_signing_secret()
    kept = rotated_secrets(box, endpoint, secret, expires_in, now)
    async with in_transaction() as connection:
        await (
            WebhookEndpoint.filter(id=endpoint.id)
            .using_db(connection)
            .update(signing_secrets=kept, updated_at=now)
        )
        details = {"old_secret_expires_in": int(expires_in.total_seconds())}
        await _audit(endpoint, actor, "webhook_endpoint.secret_rotated", details, connection)
    endpoint.signing_secrets = kept
    endpoint.updated_at = now
    return secret


async def delete_endpoint(endpoint: WebhookEndpoint, *, actor: Actor) -> None:
    """Delete the endpoint with its deliveries and their attempts (ON DELETE CASCADE); an
    attempt in flight then updates nothing. The audit entry keeps its URL."""
    async with in_transaction() as connection:
        await WebhookEndpoint.filter(id=endpoint.id).using_db(connection).delete()
        await _audit(endpoint, actor, "webhook_endpoint.deleted", {"url": endpoint.url}, connection)


async def send_test_event(endpoint: WebhookEndpoint, *, actor: Actor) -> Event:
    """A `webhook_endpoint.test` event owed to this endpoint only, whatever it subscribes to
    (the outbox addresses test events to the endpoint in `object_id`); the delivery workers
    send it like any other, so the delivery log shows the receiver's answer."""
    if endpoint.status != WebhookEndpointStatus.ENABLED:
        raise EndpointRefused(
            "webhook_endpoint_disabled",
            "This endpoint is disabled: enable it before sending it a test event.",
        )
    async with in_transaction() as connection:
        event = await append_event(
            merchant_id=endpoint.merchant_id,
            livemode=endpoint.livemode,
            event_type=EventType.WEBHOOK_ENDPOINT_TEST,
            object_id=endpoint.id,
            data={"object": webhook_endpoint_object(endpoint)},
            connection=connection,
        )
        await _audit(endpoint, actor, "webhook_endpoint.tested", {"event": event.id}, connection)
    return event


async def _audit(
    endpoint: WebhookEndpoint,
    actor: Actor,
    action: str,
    details: dict[str, Any],
    connection: Any,
) -> None:
    await audit(
        endpoint.merchant_id,
        actor.name,
        action,
        object_id=endpoint.id,
        details={"livemode": endpoint.livemode, **details},
        ip=actor.ip,
        connection=connection,
    )
