"""Whatever a receiver answers is stored, and one result the database refuses never holds back
the others saved with it (issue 12, item 2)."""

from __future__ import annotations

import dataclasses

import pytest

from app.models import WebhookAttempt, WebhookDelivery
from app.states import WebhookDeliveryStatus
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import (
    OffsetClock,
    Receiver,
    Reply,
    create_endpoint,
    emit_events,
    fast_settings,
)

pytestmark = pytest.mark.usefixtures("private_targets", "clean_endpoints")

LEASE_SECONDS = 5.0


@dataclasses.dataclass
class Sent:
    """The two receivers and their endpoints, after one event was delivered to both."""

    first: Receiver
    second: Receiver
    first_id: str
    second_id: str


async def _two_endpoints_one_batch(
    client, merchant: MerchantKeys, receivers, database_url: str, first: Reply, refuse_first: bool
) -> Sent:
    """One event to two endpoints, both results saved as one batch (as the write loop does when
    they finish together); then the leases run out, so anything not recorded is sent again."""
    first_receiver = await receivers(lambda r: first)
    second_receiver = await receivers()
    sent = Sent(
        first_receiver,
        second_receiver,
        (await create_endpoint(client, merchant, first_receiver.url()))["id"],
        (await create_endpoint(client, merchant, second_receiver.url()))["id"],
    )
    await emit_events(merchant.merchant.id, 1)
    clock = OffsetClock()
    settings = fast_settings(database_url, webhook_lease_seconds=LEASE_SECONDS)
    worker = DeliveryWorker(settings, clock=clock)
    try:
        claimed = await worker.claim(10)
        assert len(claimed) == 2
        for item in claimed:
            outcome = await worker.attempt(item)
            if refuse_first and item.endpoint.id == sent.first_id:
                # A value the database refuses, on SQLite and PostgreSQL alike.
                outcome = dataclasses.replace(outcome, number=2**70)
            worker._outcomes.put_nowait(outcome)  # queued before the writer starts: one batch
        await worker.run_until_idle()
        clock.advance(LEASE_SECONDS + 1)
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    return sent


async def test_a_reply_with_a_nul_byte_is_stored_and_sent_once(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    nul = Reply(body=b"ok\x00\xffdone")
    sent = await _two_endpoints_one_batch(client, merchant, receivers, database_url, nul, False)

    assert (len(sent.first.requests), len(sent.second.requests)) == (1, 1)
    for endpoint_id, stored in [(sent.first_id, "ok\ufffd\ufffddone"), (sent.second_id, "ok")]:
        delivery = await WebhookDelivery.get(endpoint_id=endpoint_id)
        assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
        assert delivery.attempts == 1
        attempts = await WebhookAttempt.filter(delivery_id=delivery.id)
        assert [(a.status_code, a.response_body) for a in attempts] == [(200, stored)]


async def test_a_result_the_database_refuses_holds_back_no_other(
    client, merchant: MerchantKeys, receivers, database_url: str
) -> None:
    sent = await _two_endpoints_one_batch(client, merchant, receivers, database_url, Reply(), True)

    assert len(sent.second.requests) == 1
    delivery = await WebhookDelivery.get(endpoint_id=sent.second_id)
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert await WebhookAttempt.filter(delivery_id=delivery.id).count() == 1
    # The refused result was not saved: that delivery was leased again and re-sent.
    assert len(sent.first.requests) == 2
