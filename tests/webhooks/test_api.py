"""`/v1/webhook_endpoints` and `/v1/events`: shapes, modes, filters, resend, deliveries."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr
from quart import Quart

from app.models import AuditLog, Event, WebhookDelivery, WebhookEndpoint
from app.secretbox import SecretBox, SecretUnreadable
from app.webhooks.outbox import prune_events
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys, new_merchant
from tests.webhooks.conftest import create_endpoint, emit_events, fast_settings

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")


async def test_endpoint_lifecycle(client, merchant: MerchantKeys) -> None:
    created = await create_endpoint(
        client, merchant, "http://127.0.0.1:9/hook", events=["checkout.session.*"]
    )
    assert created["object"] == "webhook_endpoint"
    assert created["id"].startswith("we_")
    assert created["livemode"] is False
    assert created["status"] == "enabled"
    assert created["enabled_events"] == ["checkout.session.*"]
    assert created["secret"].startswith("whsec_")
    path = f"/v1/webhook_endpoints/{created['id']}"

    fetched = await (await client.get(path, headers=merchant.auth())).get_json()
    assert "secret" not in fetched
    assert fetched == {k: v for k, v in created.items() if k != "secret"}

    # Live keys do not see test endpoints.
    assert (await client.get(path, headers=merchant.auth(livemode=True))).status_code == 404
    listed = await (await client.get("/v1/webhook_endpoints", headers=merchant.auth())).get_json()
    assert [e["id"] for e in listed["data"]] == [created["id"]]
    live_list = await (
        await client.get("/v1/webhook_endpoints", headers=merchant.auth(livemode=True))
    ).get_json()
    assert live_list["data"] == []

    updated = await client.post(
        path,
        json={"disabled": True, "description": "orders", "enabled_events": ["*"]},
        headers=merchant.auth(),
    )
    body = await updated.get_json()
    assert updated.status_code == 200, body
    assert body["status"] == "disabled" and body["description"] == "orders"
    assert body["enabled_events"] == ["*"]
    enabled = await (
        await client.post(
            path,
            data="status=enabled",
            headers={**merchant.auth(), "Content-Type": "application/x-www-form-urlencoded"},
        )
    ).get_json()
    assert enabled["status"] == "enabled"
    clash = await client.post(
        path, json={"disabled": True, "status": "enabled"}, headers=merchant.auth()
    )
    assert clash.status_code == 400

    deleted = await (await client.delete(path, headers=merchant.auth())).get_json()
    assert deleted == {"id": created["id"], "object": "webhook_endpoint", "deleted": True}
    assert (await client.get(path, headers=merchant.auth())).status_code == 404
    # Audited like every change, by the key that made it, with the URL it had.
    entry = await AuditLog.get(object_id=created["id"], action="webhook_endpoint.deleted")
    assert entry.actor.startswith("key:key_")
    assert entry.details == {"livemode": False, "url": created["url"]}


async def test_form_encoded_creation_and_validation(client, merchant: MerchantKeys) -> None:
    form = {**merchant.auth(), "Content-Type": "application/x-www-form-urlencoded"}
    created = await client.post(
        "/v1/webhook_endpoints",
        data="url=http%3A%2F%2F127.0.0.1%3A9%2Fh&enabled_events[0]=payment.confirmed"
        "&enabled_events[1]=payment.expired&metadata[team]=ops",
        headers=form,
    )
    body = await created.get_json()
    assert created.status_code == 200, body
    assert body["enabled_events"] == ["payment.confirmed", "payment.expired"]
    assert body["metadata"] == {"team": "ops"}

    for bad, code in [
        (
            {"url": "http://127.0.0.1:9/", "enabled_events": ["payment.exploded"]},
            "event_type_invalid",
        ),
        ({"url": "http://127.0.0.1:9/", "enabled_events": []}, "parameter_invalid_empty"),
        ({"url": "ftp://127.0.0.1/", "enabled_events": ["*"]}, "url_invalid"),
        ({"enabled_events": ["*"]}, "parameter_missing"),
        (
            {"url": "http://127.0.0.1:9/", "enabled_events": ["*"], "secret": "x"},
            "parameter_unknown",
        ),
    ]:
        response = await client.post("/v1/webhook_endpoints", json=bad, headers=merchant.auth())
        error = (await response.get_json())["error"]
        assert response.status_code == 400, bad
        assert error["code"] == code, (bad, error)


async def test_secret_is_encrypted_at_rest(client, merchant: MerchantKeys, app: Quart) -> None:
    created = await create_endpoint(client, merchant, "http://127.0.0.1:9/hook")
    row = await WebhookEndpoint.get(id=created["id"])
    stored = row.signing_secrets[0]["ciphertext"]
    assert created["secret"] not in str(row.signing_secrets)
    assert created["secret"][6:] not in stored
    operator_key = app.config["KASSA_SETTINGS"].secret_key.get_secret_value()
    assert SecretBox(operator_key).open(stored, row.id) == created["secret"]
    with pytest.raises(SecretUnreadable):
        SecretBox("another-operator-secret-key-0123").open(stored, row.id)
    with pytest.raises(SecretUnreadable):
        SecretBox(operator_key).open(stored, "we_someone_else")


async def test_missing_operator_secret_key_is_a_clear_error(
    client, merchant: MerchantKeys, app: Quart
) -> None:
    settings = app.config["KASSA_SETTINGS"]
    app.config["KASSA_SETTINGS"] = settings.model_copy(update={"secret_key": SecretStr("")})
    try:
        response = await client.post(
            "/v1/webhook_endpoints",
            json={"url": "http://127.0.0.1:9/", "enabled_events": ["*"]},
            headers=merchant.auth(),
        )
    finally:
        app.config["KASSA_SETTINGS"] = settings
    error = (await response.get_json())["error"]
    assert response.status_code == 500
    assert error["code"] == "secret_key_missing"
    assert "KASSA_SECRET_KEY" in error["message"]


async def test_events_list_filters_and_retrieve(client, merchant: MerchantKeys) -> None:
    events = await emit_events(merchant.merchant.id, 5)
    live = await emit_events(merchant.merchant.id, 1, livemode=True)
    listed = await (await client.get("/v1/events", headers=merchant.auth())).get_json()
    assert listed["object"] == "list" and listed["url"] == "/v1/events"
    assert [e["id"] for e in listed["data"]] == [e.id for e in reversed(events)]
    first = listed["data"][0]
    assert first["object"] == "event" and first["livemode"] is False
    assert first["type"] == "checkout.session.expired"
    assert first["data"]["object"]["id"].startswith("cs_test_")

    for query, count in [
        ("type=checkout.session.*", 5),
        ("type=checkout.session.expired", 5),
        ("type=payment.*", 0),
        ("type=*", 5),
        ("limit=2", 2),
        (f"created[gte]={first['created_at']}", None),  # an ISO time, as the API shows it
    ]:
        page = await (await client.get(f"/v1/events?{query}", headers=merchant.auth())).get_json()
        if count is not None:
            assert len(page["data"]) == count, (query, page)
        else:
            assert first["id"] in [e["id"] for e in page["data"]]
    page = await (
        await client.get(
            f"/v1/events?limit=2&starting_after={events[3].id}", headers=merchant.auth()
        )
    ).get_json()
    assert [e["id"] for e in page["data"]] == [events[2].id, events[1].id]
    assert page["has_more"] is True
    bad = await client.get("/v1/events?type=no%20spaces", headers=merchant.auth())
    assert bad.status_code == 400

    one = await client.get(f"/v1/events/{events[0].id}", headers=merchant.auth())
    assert (await one.get_json())["id"] == events[0].id
    assert (
        await client.get(f"/v1/events/{live[0].id}", headers=merchant.auth())
    ).status_code == 404
    other = await new_merchant("Other")
    assert (await client.get(f"/v1/events/{events[0].id}", headers=other.auth())).status_code == 404


async def test_subscriptions_disabled_endpoints_and_modes(client, merchant: MerchantKeys) -> None:
    every = await create_endpoint(client, merchant, "http://127.0.0.1:9/a")
    payments = await create_endpoint(client, merchant, "http://127.0.0.1:9/b", events=["payment.*"])
    off = await create_endpoint(client, merchant, "http://127.0.0.1:9/c")
    await client.post(
        f"/v1/webhook_endpoints/{off['id']}", json={"disabled": True}, headers=merchant.auth()
    )
    (event,) = await emit_events(merchant.merchant.id, 1)
    await emit_events(merchant.merchant.id, 1, livemode=True)
    owed = await WebhookDelivery.filter(endpoint_id__in=[every["id"], payments["id"], off["id"]])
    assert [(d.event_id, d.endpoint_id) for d in owed] == [(event.id, every["id"])]


async def test_resend_and_deliveries_list(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    receiver = await receivers()
    endpoint = await create_endpoint(client, merchant, receiver.url())
    (event,) = await emit_events(merchant.merchant.id, 1)
    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
        resent = await client.post(
            f"/v1/events/{event.id}/resend",
            json={"endpoint": endpoint["id"]},
            headers=merchant.auth(),
        )
        body = await resent.get_json()
        assert resent.status_code == 200, body
        assert body["data"][0]["status"] == "pending"
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    assert receiver.ids() == [event.id, event.id]

    page = await (
        await client.get(
            f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=merchant.auth()
        )
    ).get_json()
    (delivery,) = page["data"]
    assert delivery["object"] == "webhook_delivery"
    assert delivery["event"] == event.id and delivery["event_type"] == event.type
    assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 2
    assert [a["status_code"] for a in delivery["attempts"]] == [200, 200]
    assert delivery["attempts"][0]["response_body"] == "ok"

    missing = await client.post(
        f"/v1/events/{event.id}/resend", json={"endpoint": "we_nope"}, headers=merchant.auth()
    )
    assert missing.status_code == 404
    everyone = await client.post(f"/v1/events/{event.id}/resend", headers=merchant.auth())
    assert [d["endpoint"] for d in (await everyone.get_json())["data"]] == [endpoint["id"]]


async def test_events_pruning(client, merchant: MerchantKeys) -> None:
    await create_endpoint(client, merchant, "http://127.0.0.1:9/hook")
    old, fresh = await emit_events(merchant.merchant.id, 2)
    await Event.filter(id=old.id).update(created_at=old.created_at - dt.timedelta(days=31))
    assert await prune_events(30) >= 1
    assert not await Event.filter(id=old.id).exists()
    assert not await WebhookDelivery.filter(event_id=old.id).exists()
    assert await Event.filter(id=fresh.id).exists()
    assert await WebhookDelivery.filter(event_id=fresh.id).exists()


async def test_openapi_documents_webhooks_and_events(client) -> None:
    document = await (await client.get("/v1/openapi.json")).get_json()
    paths = document["paths"]
    assert set(paths["/v1/webhook_endpoints"]) == {"get", "post"}
    assert set(paths["/v1/webhook_endpoints/{endpoint_id}"]) == {"get", "post", "delete"}
    for path in (
        "/v1/webhook_endpoints/{endpoint_id}/rotate_secret",
        "/v1/webhook_endpoints/{endpoint_id}/deliveries",
        "/v1/events",
        "/v1/events/{event_id}",
        "/v1/events/{event_id}/resend",
    ):
        assert path in paths
    assert "WebhookEndpointObject" in document["components"]["schemas"]
