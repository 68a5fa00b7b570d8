"""Dashboard webhooks: list and create (the secret shown once), edit, disable/enable, rotate,
test event, delete and delivery log, through the same services as the API; roles, modes and
audit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from quart import Quart
from werkzeug.datastructures import MultiDict

from app.dashboard.users import Role
from app.models import AuditLog, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.states import WebhookEndpointStatus
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys, new_merchant
from tests.dashboard.conftest import DashboardClient, SignedInClient, csrf_of
from tests.webhooks.conftest import (  # noqa: F401 - fixtures
    clean_endpoints,
    create_endpoint,
    fast_settings,
    insert_endpoint,
    private_targets,
    receivers,
)

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")


async def _followed(client: DashboardClient, response: Any) -> str:
    """The page a form's 303 leads to (changes that show no secret redirect)."""
    assert response.status_code == 303, await response.get_data(as_text=True)
    return await client.page(response.headers["Location"])


async def _create(
    client: DashboardClient, url: str, events: list[str] | None = None
) -> tuple[int, str]:
    """Submit the create form as a browser does: one `events` field per ticked box."""
    token = csrf_of(await client.page("/dashboard/webhooks"))
    fields = [("csrf_token", token), ("url", url), ("description", "orders")]
    fields += [("events", event) for event in (["*"] if events is None else events)]
    response = await client.client.post("/dashboard/webhooks", form=MultiDict(fields))
    if response.status_code == 303:  # created: the page it leads to shows the secret once
        return 201, await client.page(response.headers["Location"])
    return response.status_code, await response.get_data(as_text=True)


async def test_create_shows_the_secret_once_and_lists_it(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.DEVELOPER)
    status, html = await _create(client, "http://127.0.0.1:9/hook", ["payment.confirmed"])
    assert status == 201, html
    endpoint = await WebhookEndpoint.get(merchant_id=client.user.merchant_id)
    assert endpoint.livemode is False and endpoint.enabled_events == ["payment.confirmed"]
    assert 'class="secret"' in html and "whsec_" in html
    secret = html.split('<code id="new-secret">')[1].split("<")[0]
    # The stored secret is sealed; the page shows it once and never again.
    assert secret not in json.dumps(endpoint.signing_secrets)
    listed = await client.page("/dashboard/webhooks")
    assert "http://127.0.0.1:9/hook" in listed and secret not in listed
    detail = await client.page(f"/dashboard/webhooks/{endpoint.id}")
    assert secret not in detail and "No deliveries yet." in detail
    entry = await AuditLog.get(object_id=endpoint.id)
    assert entry.action == "webhook_endpoint.created"
    assert entry.actor == f"user:{client.user.id}" and entry.ip


async def test_form_errors_are_the_apis_checks(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.OWNER)
    status, html = await _create(client, "ftp://example.com/hook")
    assert status == 400 and 'class="error"' in html
    status, html = await _create(client, "http://127.0.0.1:9/hook", [])
    assert status == 400 and "Choose at least one event type" in html
    status, html = await _create(client, "http://127.0.0.1:9/hook", ["nonsense.event"])
    assert status == 400 and "Events: Unknown event type &#39;nonsense.event&#39;" in html
    assert not await WebhookEndpoint.filter(merchant_id=client.user.merchant_id).exists()


async def test_live_mode_refuses_plain_http(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.OWNER)
    await client.post_form("/dashboard/mode", {"mode": "live", "next": "/dashboard/webhooks"})
    status, html = await _create(client, "http://127.0.0.1:9/hook")
    assert status == 400 and "must use https" in html


async def test_viewers_read_but_do_not_change(signed_in: SignedInClient, client, merchant) -> None:
    viewer = await signed_in(Role.VIEWER)
    endpoint = await create_endpoint(client, merchant, "http://127.0.0.1:9/hook")
    # The viewer's merchant is the fixture's merchant: it sees the API-made endpoint.
    html = await viewer.page("/dashboard/webhooks")
    assert endpoint["id"] in html and "Add endpoint" not in html
    detail = await viewer.page(f"/dashboard/webhooks/{endpoint['id']}")
    assert "Rotate secret" not in detail and "Send test event" not in detail
    assert "Delete endpoint" not in detail and "edit-url" not in detail
    for action in ("disable", "rotate", "test", "edit", "delete"):
        response = await viewer.post_form(f"/dashboard/webhooks/{endpoint['id']}/{action}", {})
        assert response.status_code == 403, action
    refused = await viewer.post_form("/dashboard/webhooks", {"url": "http://127.0.0.1:9/x"})
    assert refused.status_code == 403


async def test_other_mode_and_merchant_are_404(
    signed_in: SignedInClient, app: Quart, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    settings = app.config["KASSA_SETTINGS"]
    live = await insert_endpoint(
        settings, merchant.merchant.id, "https://x.example/", livemode=True
    )
    other = await insert_endpoint(settings, (await new_merchant()).merchant.id, "http://x.example/")
    for endpoint_id in (live, other):
        response = await owner.get(f"/dashboard/webhooks/{endpoint_id}")
        assert response.status_code == 404
        disabled = await owner.post_form(f"/dashboard/webhooks/{endpoint_id}/disable", {})
        assert disabled.status_code == 404
        deleted = await owner.post_form(
            f"/dashboard/webhooks/{endpoint_id}/delete", {"confirm": "yes"}
        )
        assert deleted.status_code == 404
        assert (await WebhookEndpoint.get(id=endpoint_id)).status == "enabled"
    assert "x.example" not in await owner.page("/dashboard/webhooks")
    assert (await owner.get("/dashboard/webhooks/" + "x" * 300)).status_code == 404


async def test_disable_enable_rotate(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.DEVELOPER)
    await _create(client, "http://127.0.0.1:9/hook")
    endpoint = await WebhookEndpoint.get(merchant_id=client.user.merchant_id)
    path = f"/dashboard/webhooks/{endpoint.id}"
    html = await _followed(client, await client.post_form(f"{path}/disable", {}))
    assert "Disabled: it is sent nothing" in html
    await endpoint.refresh_from_db()
    assert endpoint.status == WebhookEndpointStatus.DISABLED
    assert endpoint.disabled_reason == "Disabled in the dashboard."
    html = await _followed(client, await client.post_form(f"{path}/enable", {}))
    assert "Enabled: it is sent the events" in html
    await endpoint.refresh_from_db()
    assert endpoint.status == WebhookEndpointStatus.ENABLED

    html = await _followed(client, await client.post_form(f"{path}/rotate", {"expires_in": "3600"}))
    assert 'class="secret"' in html and "1 hour" in html
    await endpoint.refresh_from_db()
    assert len(endpoint.signing_secrets) == 2  # the old one signs for another hour
    bad = await client.post_form(f"{path}/rotate", {"expires_in": "99"})
    assert bad.status_code == 400
    actions = (
        await AuditLog.filter(object_id=endpoint.id).order_by("id").values_list("action", flat=True)
    )
    assert list(actions) == [
        "webhook_endpoint.created",
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
        "webhook_endpoint.secret_rotated",
    ]


async def test_edit_then_delete(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.DEVELOPER)
    await _create(client, "http://127.0.0.1:9/hook")
    endpoint = await WebhookEndpoint.get(merchant_id=client.user.merchant_id)
    path = f"/dashboard/webhooks/{endpoint.id}"
    page = await client.page(path)
    assert 'value="http://127.0.0.1:9/hook"' in page  # the form shows what is saved

    def edit(url: str, events: list[str], description: str = "") -> Any:
        fields = [("csrf_token", csrf_of(page)), ("url", url), ("description", description)]
        fields += [("events", event) for event in events]
        return client.client.post(f"{path}/edit", form=MultiDict(fields))

    # Refused as the API refuses it; the form keeps what was entered, nothing is saved.
    refused = await edit("ftp://127.0.0.1:9/other", ["payment.confirmed"])
    assert refused.status_code == 400
    assert 'value="ftp://127.0.0.1:9/other"' in await refused.get_data(as_text=True)
    assert (await edit("http://127.0.0.1:9/other", [])).status_code == 400
    await endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/hook" and endpoint.enabled_events == ["*"]

    saved = await edit("http://127.0.0.1:9/other", ["payment.confirmed"], "shop two")
    assert "Saved: the next deliveries go to this URL" in await _followed(client, saved)
    await endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/other"
    assert endpoint.enabled_events == ["payment.confirmed"]
    assert endpoint.description == "shop two"

    # Deleting needs the box ticked; then the endpoint and its log are gone, audited.
    unconfirmed = await client.post_form(f"{path}/delete", {})
    assert unconfirmed.status_code == 400 and await WebhookEndpoint.exists(id=endpoint.id)
    deleted = await client.post_form(f"{path}/delete", {"confirm": "yes"})
    assert "Deleted, with its delivery log" in await _followed(client, deleted)
    assert not await WebhookEndpoint.exists(id=endpoint.id)
    assert (await client.get(path)).status_code == 404
    actions = (
        await AuditLog.filter(object_id=endpoint.id).order_by("id").values_list("action", flat=True)
    )
    assert list(actions) == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
    ]


async def test_test_event_and_delivery_log(
    signed_in: SignedInClient,
    receivers,  # noqa: F811
    database_url: str,
) -> None:
    receiver = await receivers()
    client = await signed_in(Role.DEVELOPER)
    await _create(client, receiver.url(), ["payment.confirmed"])
    endpoint = await WebhookEndpoint.get(merchant_id=client.user.merchant_id)
    path = f"/dashboard/webhooks/{endpoint.id}"
    html = await _followed(client, await client.post_form(f"{path}/test", {}))
    assert "A test event is on its way" in html
    event = await Event.get(object_id=endpoint.id, type="webhook_endpoint.test")
    assert event.livemode is False

    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    assert len(receiver.requests) == 1
    delivery = await WebhookDelivery.get(event_id=event.id)
    attempt = await WebhookAttempt.get(delivery_id=delivery.id)
    log = await client.page(path)
    assert "webhook_endpoint.test" in log and "succeeded" in log
    assert f"HTTP {attempt.status_code}" in log and f"{attempt.duration_ms} ms" in log
    tested = await AuditLog.get(object_id=endpoint.id, action="webhook_endpoint.tested")
    assert tested.details["event"] == event.id

    # A disabled endpoint is not tested; the page says why.
    await client.post_form(f"{path}/disable", {})
    refused = await client.post_form(f"{path}/test", {})
    assert refused.status_code == 400
    assert "enable it before" in await refused.get_data(as_text=True)
