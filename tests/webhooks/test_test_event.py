"""`POST /v1/webhook_endpoints/{id}/test`: one `webhook_endpoint.test` event for one endpoint,
delivered and signed like any other; API changes to endpoints leave audit entries."""

from __future__ import annotations

import json

import pytest

from app.keys import hash_secret
from app.models import ApiKey, AuditLog, WebhookDelivery
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import create_endpoint, fast_settings

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")


async def test_a_test_event_goes_to_that_endpoint_only(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    receiver = await receivers()
    tested = await create_endpoint(client, merchant, receiver.url("/tested"), ["payment.*"])
    other = await create_endpoint(client, merchant, receiver.url("/other"), ["*"])

    response = await client.post(
        f"/v1/webhook_endpoints/{tested['id']}/test", headers=merchant.auth()
    )
    event = await response.get_json()
    assert response.status_code == 200, event
    assert event["object"] == "event" and event["type"] == "webhook_endpoint.test"
    assert event["data"]["object"]["id"] == tested["id"]
    assert "secret" not in event["data"]["object"]
    deliveries = await WebhookDelivery.filter(event_id=event["id"]).values_list(
        "endpoint_id", flat=True
    )
    assert list(deliveries) == [tested["id"]]  # not the "*" endpoint

    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    assert [request.path for request in receiver.requests] == ["/tested"]
    assert json.loads(receiver.requests[0].body)["id"] == event["id"]

    # Resending it reaches the tested endpoint again, still not the others.
    resent = await client.post(f"/v1/events/{event['id']}/resend", headers=merchant.auth())
    assert resent.status_code == 200
    targets = await WebhookDelivery.filter(event_id=event["id"]).values_list(
        "endpoint_id", flat=True
    )
    assert other["id"] not in targets


async def test_a_disabled_endpoint_is_not_tested(client, merchant: MerchantKeys) -> None:
    endpoint = await create_endpoint(client, merchant, "http://127.0.0.1:9/hook")
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    await client.post(path, json={"disabled": True}, headers=merchant.auth())
    response = await client.post(f"{path}/test", headers=merchant.auth())
    body = await response.get_json()
    assert response.status_code == 400
    assert body["error"]["code"] == "webhook_endpoint_disabled"
    # Another mode's key does not see it.
    live = await client.post(f"{path}/test", headers=merchant.auth(livemode=True))
    assert live.status_code == 404


async def test_api_changes_are_audited_with_the_key(client, merchant: MerchantKeys) -> None:
    endpoint = await create_endpoint(client, merchant, "http://127.0.0.1:9/hook")
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    await client.post(path, json={"disabled": True}, headers=merchant.auth())
    await client.post(f"{path}/rotate_secret", json={"expires_in": 0}, headers=merchant.auth())
    entries = await AuditLog.filter(object_id=endpoint["id"]).order_by("id")
    assert [e.action for e in entries] == [
        "webhook_endpoint.created",
        "webhook_endpoint.disabled",
        "webhook_endpoint.secret_rotated",
    ]
    key = await ApiKey.get(secret_sha256=hash_secret(merchant.test_secret))
    assert {e.actor for e in entries} == {f"key:{key.id}"}
    assert all(e.ip for e in entries)
