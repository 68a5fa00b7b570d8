"""Deliveries verify with the official Standard Webhooks and Svix libraries."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError as SvixVerificationError

from app.webhooks.signing import sign
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import Received, create_endpoint, emit_events, fast_settings

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    results = []
    for verifier, error in (
        (StandardWebhook(secret), WebhookVerificationError),
        (SvixWebhook(secret), SvixVerificationError),
    ):
        try:
            verifier.verify(body, dict(headers))
            results.append(True)
        except error:
            results.append(False)
    assert results[0] == results[1], "the two libraries disagree"
    return results[0]


def flip(text: str) -> str:
    """The same string with one character changed."""
    last = text[-1]
    return text[:-1] + ("A" if last != "A" else "B")


async def test_every_delivery_verifies_and_tampering_fails(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    receiver = await receivers()
    endpoint = await create_endpoint(client, merchant, receiver.url())
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    events = await emit_events(merchant.merchant.id, 3)

    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()

    assert sorted(receiver.ids()) == sorted(e.id for e in events)
    for request in receiver.requests:
        headers = request.headers
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"].startswith("Kassa-Webhooks/")
        assert verifies(secret, request.body, headers)
        payload = json.loads(request.body)
        assert payload["id"] == headers["webhook-id"]
        assert payload["object"] == "event"
        assert payload["type"] == "checkout.session.expired"
        assert payload["livemode"] is False
        assert payload["data"]["object"]["object"] == "checkout.session"
        assert payload["data"]["object"]["status"] == "expired"

        body = bytearray(request.body)
        body[len(body) // 2] ^= 0x01
        assert not verifies(secret, bytes(body), headers)
        assert not verifies(
            secret, request.body, {**headers, "webhook-id": flip(headers["webhook-id"])}
        )
        ts = int(headers["webhook-timestamp"])
        assert not verifies(secret, request.body, {**headers, "webhook-timestamp": str(ts + 1)})
        assert not verifies(flip(secret[:-2]) + secret[-2:], request.body, headers)


async def test_rotation_signs_with_both_secrets_until_the_overlap_ends(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    receiver = await receivers()
    endpoint = await create_endpoint(client, merchant, receiver.url())
    old_secret = endpoint["secret"]
    rotated = await client.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret",
        json={"expires_in": 3600},
        headers=merchant.auth(),
    )
    assert rotated.status_code == 200
    new_secret = (await rotated.get_json())["secret"]
    assert new_secret != old_secret
    fetched = await (
        await client.get(f"/v1/webhook_endpoints/{endpoint['id']}", headers=merchant.auth())
    ).get_json()
    assert "secret" not in fetched

    await emit_events(merchant.merchant.id, 1)
    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    request: Received = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verifies(old_secret, request.body, request.headers)
    assert verifies(new_secret, request.body, request.headers)

    # expires_in=0 ends the overlap at once: only the newest secret signs.
    rotated = await client.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret",
        json={"expires_in": 0},
        headers=merchant.auth(),
    )
    newest = (await rotated.get_json())["secret"]
    await emit_events(merchant.merchant.id, 1)
    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert verifies(newest, request.body, request.headers)
    assert not verifies(new_secret, request.body, request.headers)
    assert not verifies(old_secret, request.body, request.headers)


def test_sign_matches_the_reference_library() -> None:
    import datetime as dt

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = StandardWebhook(secret).sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek", dt.datetime.fromtimestamp(1614265330, dt.UTC), body.decode()
    )
    assert sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, [secret]) == expected
