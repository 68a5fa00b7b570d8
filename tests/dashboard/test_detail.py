"""A session's and a payment's page: facts, line items, payments, refunds, chain transactions
with explorer links, the timeline, webhook deliveries and their "Resend"; never another
merchant's or the other mode's object."""

from __future__ import annotations

import datetime as dt
import secrets
from html import unescape
from typing import Any

from app.dashboard.users import Role
from app.models import (
    AuditLog,
    ChainObservation,
    CheckoutSession,
    Event,
    LineItem,
    Payment,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    new_id,
)
from app.states import utcnow
from tests.conftest import new_merchant
from tests.dashboard.conftest import SignedInClient
from tests.records import make_payment, make_refund, make_session

TX = "0x" + "5e" * 32  # only on a payment of a disabled network (no observation stored)


async def make_event(obj: CheckoutSession | Payment, type_: str, at: dt.datetime) -> Event:
    return await Event.create(
        id=new_id("evt"),
        merchant_id=obj.merchant_id,
        livemode=obj.livemode,
        type=type_,
        object_id=obj.id,
        data={"object": {"id": obj.id}},
        created_at=at,
    )


async def make_endpoint(merchant_id: str, url: str, status: str = "enabled") -> WebhookEndpoint:
    now = utcnow()
    return await WebhookEndpoint.create(
        id=new_id("we"),
        merchant_id=merchant_id,
        livemode=False,
        url=url,
        enabled_events=["*"],
        signing_secrets=[],
        status=status,
        created_at=now,
        updated_at=now,
    )


async def make_delivery(
    event: Event, endpoint: WebhookEndpoint, codes: list[int | None]
) -> WebhookDelivery:
    delivery = await WebhookDelivery.create(
        id=new_id("whdel"),
        event_id=event.id,
        endpoint_id=endpoint.id,
        status="failed" if codes and codes[-1] != 204 else "succeeded",
        attempts=len(codes),
        next_attempt_at=event.created_at,
        retry_until=event.created_at + dt.timedelta(days=3),
        last_status_code=codes[-1] if codes else None,
        created_at=event.created_at,
        completed_at=event.created_at,
    )
    for number, code in enumerate(codes, start=1):
        await WebhookAttempt.create(
            delivery_id=delivery.id,
            number=number,
            started_at=event.created_at + dt.timedelta(seconds=number),
            duration_ms=12,
            status_code=code,
            error=None if code is not None else "connection refused",
        )
    return delivery


async def paid_session(merchant_id: str) -> dict[str, Any]:
    """A completed session paid on "ethereum" (it has an explorer in the test app), with
    its events, a chain observation and deliveries to two endpoints."""
    tx = "0x" + secrets.token_hex(32)  # observations are unique per transaction
    start = utcnow() - dt.timedelta(minutes=10)
    session = await make_session(
        merchant_id,
        status="completed",
        client_reference_id="order-77",
        customer_email="ada@shop.example",
        metadata={"cart": "c-1"},
        created_at=start,
    )
    await LineItem.create(
        id=new_id("li"),
        session_id=session.id,
        position=0,
        name="Blue mug",
        currency="EUR",
        unit_amount=2500,
        quantity=2,
        amount_total=5000,
    )
    payment = await make_payment(
        session,
        status="confirmed",
        network="ethereum",
        crypto_currency="USDC",
        tx_hash=tx,
        block_number=1234,
        confirmations=12,
        min_confirmations=12,
        payer="0x" + "11" * 20,
        created_at=start + dt.timedelta(minutes=1),
        confirmed_at=start + dt.timedelta(minutes=3),
    )
    observation = await ChainObservation.create(
        network="ethereum",
        kind="intent",
        block_number=1234,
        block_hash="0x" + "bb" * 32,
        tx_hash=tx,
        log_index=0,
        session_ref="1",
        payment_ref="0x" + "cc" * 32,
        payment_id=payment.id,
        payer=payment.payer,
        token=payment.token_address,
        amount=payment.amount_base_units,
        recipient="0x" + "22" * 20,
        fee=0,
    )
    # Seen between the payment's creation and its confirmation (created_at is auto_now_add).
    await ChainObservation.filter(id=observation.id).update(
        created_at=start + dt.timedelta(minutes=2)
    )
    created = await make_event(payment, "payment.created", start + dt.timedelta(minutes=1))
    confirmed = await make_event(payment, "payment.confirmed", start + dt.timedelta(minutes=3))
    completed = await make_event(
        session, "checkout.session.completed", start + dt.timedelta(minutes=3, seconds=1)
    )
    good = await make_endpoint(merchant_id, "https://shop.example/hooks")
    broken = await make_endpoint(merchant_id, "https://old.shop.example/hooks", "disabled")
    deliveries = {
        "created": await make_delivery(created, good, [204]),
        "completed": await make_delivery(completed, good, [500, None, 204]),
        "broken": await make_delivery(confirmed, broken, [410]),
    }
    return {
        "session": session,
        "payment": payment,
        "deliveries": deliveries,
        "good": good,
        "tx": tx,
    }


async def test_session_page_has_facts_items_payment_chain_timeline_and_deliveries(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.DEVELOPER)
    made = await paid_session(client.user.merchant_id)  # type: ignore[attr-defined]
    session, payment = made["session"], made["payment"]
    html = unescape(await client.page(f"/dashboard/sessions/{session.id}"))
    for fact in ("order-77", "ada@shop.example", "c-1", "50.00 EUR", "completed"):
        assert fact in html, fact
    assert "Blue mug" in html and "25.00 EUR" in html  # line items
    assert f'href="/dashboard/payments/{payment.id}"' in html
    assert "50 USDC" in html and "12 of 12" in html
    # The network plugin's explorer link for the transaction.
    assert f'href="https://etherscan.io/tx/{made["tx"]}"' in html
    # Deliveries: endpoint, status and each attempt's response code.
    assert "https://shop.example/hooks" in html
    assert "500, connection refused, 204" in html
    assert "https://old.shop.example/hooks" in html and "410" in html
    # A Resend per delivery to an enabled endpoint (none for the disabled one).
    assert html.count(">Resend<span") == 2
    assert f'action="/dashboard/deliveries/{made["deliveries"]["completed"].id}/resend"' in html
    assert f"/dashboard/deliveries/{made['deliveries']['broken'].id}/resend" not in html
    # The timeline merges events, the chain transaction and webhook attempts, oldest first.
    timeline = html.split('id="timeline-heading"')[1]
    order = [
        timeline.index("payment.created"),
        timeline.index("Intent transaction seen in block 1234"),
        timeline.index("payment.confirmed"),
        timeline.index("checkout.session.completed"),
        timeline.index("Webhook checkout.session.completed attempt 3"),
    ]
    assert order == sorted(order)


async def test_payment_page_has_its_facts_refunds_and_history(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.OWNER)
    made = await paid_session(client.user.merchant_id)  # type: ignore[attr-defined]
    payment = made["payment"]
    refund = await make_refund(payment, 20_000_000, "pending_address")
    html = unescape(await client.page(f"/dashboard/payments/{payment.id}"))
    assert "50 USDC (50.00 EUR)" in html and "Ethereum" in html
    assert f'href="https://etherscan.io/tx/{made["tx"]}"' in html
    assert "12 of 12 needed" in html
    assert refund.id in html and "20 USDC" in html and "waiting for the shopper" in html
    assert f'href="/dashboard/refunds/{refund.id}"' in html  # each refund opens its page
    assert "payment.confirmed" in html and "https://old.shop.example/hooks" in html
    assert f'href="/dashboard/sessions/{payment.session_id}"' in html


async def test_a_disabled_network_has_no_explorer_link(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    session = await make_session(client.user.merchant_id)  # type: ignore[attr-defined]
    payment = await make_payment(session, network="gnosis", tx_hash=TX)
    html = unescape(await client.page(f"/dashboard/payments/{payment.id}"))
    assert TX in html and "gnosis (not enabled)" in html
    assert "/tx/" not in html


async def test_another_merchants_or_modes_objects_are_not_found(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.OWNER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    other = await paid_session((await new_merchant("Other")).merchant.id)
    live = await make_session(merchant_id, livemode=True, client_reference_id="live-secret")
    live_payment = await make_payment(live)
    for path in (
        f"/dashboard/sessions/{other['session'].id}",
        f"/dashboard/payments/{other['payment'].id}",
        f"/dashboard/sessions/{live.id}",
        f"/dashboard/payments/{live_payment.id}",
        "/dashboard/sessions/cs_test_nothing",
        "/dashboard/payments/" + "x" * 300,
    ):
        response = await client.get(path)
        html = await response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "order-77" not in html and "live-secret" not in html
    # Nor can its delivery be resent.
    delivery = other["deliveries"]["completed"]
    response = await client.post_form(
        f"/dashboard/deliveries/{delivery.id}/resend", {"next": "/dashboard/"}
    )
    assert response.status_code == 404
    assert (await WebhookDelivery.get(id=delivery.id)).status == "succeeded"


async def test_resend_makes_the_delivery_due_now_and_is_audited(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.DEVELOPER)
    made = await paid_session(client.user.merchant_id)  # type: ignore[attr-defined]
    session, delivery = made["session"], made["deliveries"]["completed"]
    page = f"/dashboard/sessions/{session.id}"
    before = utcnow()
    response = await client.post_form(
        f"/dashboard/deliveries/{delivery.id}/resend", {"next": page}, page
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{page}?resent={delivery.id}"
    again = await WebhookDelivery.get(id=delivery.id)
    assert again.status == "pending" and again.completed_at is None
    assert again.next_attempt_at >= before - dt.timedelta(seconds=1)
    entry = await AuditLog.get(object_id=delivery.id)
    assert entry.action == "webhook_delivery.resent"
    assert entry.actor == f"user:{client.user.id}"  # type: ignore[attr-defined]
    assert entry.details["endpoint"] == made["good"].id
    html = await client.page(f"{page}?resent={delivery.id}")
    assert "Resend scheduled" in html


async def test_resend_is_for_developers_and_needs_the_csrf_token(
    signed_in: SignedInClient,
) -> None:
    viewer = await signed_in(Role.VIEWER)
    made = await paid_session(viewer.user.merchant_id)  # type: ignore[attr-defined]
    delivery = made["deliveries"]["completed"]
    page = f"/dashboard/sessions/{made['session'].id}"
    html = await viewer.page(page)
    assert ">Resend<" not in html
    response = await viewer.post_form(f"/dashboard/deliveries/{delivery.id}/resend", {}, page)
    assert response.status_code == 403
    developer = await signed_in(Role.DEVELOPER)
    response = await developer.client.post(f"/dashboard/deliveries/{delivery.id}/resend", form={})
    assert response.status_code == 403  # no CSRF token
    assert (await WebhookDelivery.get(id=delivery.id)).status == "succeeded"


async def test_a_delivery_to_a_disabled_endpoint_is_not_resent(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.OWNER)
    made = await paid_session(client.user.merchant_id)  # type: ignore[attr-defined]
    broken = made["deliveries"]["broken"]
    response = await client.post_form(f"/dashboard/deliveries/{broken.id}/resend", {})
    assert response.status_code == 400
    assert "disabled" in await response.get_data(as_text=True)
    assert (await WebhookDelivery.get(id=broken.id)).status == "failed"
