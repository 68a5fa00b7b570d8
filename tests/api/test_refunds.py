"""`/v1/refunds` and the refund service without a chain: creating (full, partial, never more
than was paid), listing, retrieving, canceling, idempotency, modes, bad input as a Stripe
error, the claim e-mail. The chain side (addresses, the watcher) is in
tests/networks/test_refunds_chain.py."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from quart import Quart

from app.models import AuditLog, Event, Payment, Refund
from app.refunds import send_claim_email
from tests.api.helpers import ISO_TIME, assert_error
from tests.api.test_documented_objects import REFUND_FIELDS, assert_shape
from tests.conftest import TEST_PAYOUT, MerchantKeys, new_merchant
from tests.core.test_exports import payment_rows
from tests.records import make_payment, make_session

USDC_50 = 50_000_000  # tests.records' payment: 50 USDC (6 decimals) on the devnet


async def confirmed_payment(merchant: MerchantKeys, **fields: Any) -> Payment:
    session = await make_session(
        merchant.merchant.id, status="completed", **fields.pop("session", {})
    )
    return await make_payment(session, status="confirmed", **fields)


async def create(client: Any, merchant: MerchantKeys, livemode: bool = False, **body: Any) -> Any:
    return await client.post("/v1/refunds", json=body, headers=merchant.auth(livemode))


async def test_full_refund_of_a_confirmed_payment(client, merchant: MerchantKeys) -> None:
    payment = await confirmed_payment(merchant)
    response = await create(
        client, merchant, payment=payment.id, reason="Out of stock", metadata={"order": "42"}
    )
    refund = await response.get_json()
    assert response.status_code == 200, refund
    assert_shape(refund, REFUND_FIELDS, "created refund")
    assert refund["id"].startswith("re_") and refund["object"] == "refund"
    assert refund["status"] == "pending_address" and refund["livemode"] is False
    assert refund["payment"] == payment.id
    assert refund["amount_base_units"] == str(USDC_50) and refund["amount_crypto"] == "50"
    assert refund["crypto_currency"] == "USDC" and refund["decimals"] == 6
    assert refund["network"] == "devnet" and refund["token_address"] == payment.token_address
    assert refund["reason"] == "Out of stock" and refund["metadata"] == {"order": "42"}
    assert refund["from_address"] == TEST_PAYOUT and refund["address"] is None
    stored = await Refund.get(id=refund["id"])
    assert refund["claim_url"] == f"http://127.0.0.1:8000/refund/{stored.claim_token}"
    assert len(stored.claim_token) >= 32
    assert ISO_TIME.match(refund["created_at"]) and refund["tx_hash"] is None

    # The event carries the refund as the API shows it; the audit log names the key.
    (event,) = await Event.filter(object_id=refund["id"])
    assert event.type == "refund.created"
    assert event.data == {"object": refund, "refund": refund}
    (entry,) = await AuditLog.filter(object_id=refund["id"])
    assert entry.action == "refund.created" and entry.actor.startswith("key:")

    got = await client.get(f"/v1/refunds/{refund['id']}", headers=merchant.auth())
    assert await got.get_json() == refund


async def test_partial_refunds_never_exceed_the_payment(client, merchant: MerchantKeys) -> None:
    payment = await confirmed_payment(merchant)
    first = await create(client, merchant, payment=payment.id, amount_crypto="10.5")
    assert (await first.get_json())["amount_base_units"] == "10500000"
    second = await create(client, merchant, payment=payment.id, amount_base_units=39_000_000)
    assert (await second.get_json())["amount_crypto"] == "39"
    too_much = await create(client, merchant, payment=payment.id, amount_base_units="500001")
    await assert_error(too_much, 400, "invalid_request_error", "amount_too_large", "amount")
    # The default is what is left.
    rest = await (await create(client, merchant, payment=payment.id)).get_json()
    assert rest["amount_base_units"] == "500000"
    done = await create(client, merchant, payment=payment.id, amount_base_units="1")
    await assert_error(done, 400, "invalid_request_error", "payment_fully_refunded", "payment")

    # A canceled refund no longer counts.
    canceled = await client.post(f"/v1/refunds/{rest['id']}/cancel", headers=merchant.auth())
    body = await canceled.get_json()
    assert canceled.status_code == 200 and body["status"] == "canceled", body
    again = await client.post(f"/v1/refunds/{rest['id']}/cancel", headers=merchant.auth())
    await assert_error(again, 400, "invalid_request_error", "refund_not_cancelable", "id")
    redo = await create(client, merchant, payment=payment.id)
    assert (await redo.get_json())["amount_base_units"] == "500000"
    assert [e.type for e in await Event.filter(object_id=rest["id"]).order_by("created_at")] == [
        "refund.created",
        "refund.canceled",
    ]


async def test_an_overpaid_deposit_refunds_what_arrived(client, merchant: MerchantKeys) -> None:
    payment = await confirmed_payment(merchant, amount_final=USDC_50 + 7)
    refund = await (await create(client, merchant, payment=payment.id)).get_json()
    assert refund["amount_base_units"] == str(USDC_50 + 7)


async def test_a_deposit_refunds_what_reached_the_merchant_not_the_fee(
    client, merchant: MerchantKeys
) -> None:
    """The shopper sent the amount plus the gateway fee to the deposit address; the sweep
    sent the fee to the fee recipient, so the merchant can refund the amount only (also
    when overpaid: the fee's share of the extra went to the fee recipient too). The export
    calls such a payment fully refunded at the amount."""
    fee = 500_000  # 1%
    payment = await confirmed_payment(merchant, fee_base_units=fee, amount_final=USDC_50 + fee)
    too_much = await create(client, merchant, payment=payment.id, amount_base_units="50000001")
    await assert_error(too_much, 400, "invalid_request_error", "amount_too_large", "amount")
    refund = await (await create(client, merchant, payment=payment.id)).get_json()
    assert refund["amount_base_units"] == str(USDC_50)
    await Refund.filter(id=refund["id"]).update(status="succeeded")
    (row,) = [r for r in await payment_rows(merchant.merchant.id) if r["id"] == payment.id]
    assert row["refund_status"] == "full"

    overpaid = await confirmed_payment(
        merchant, fee_base_units=fee, amount_final=2 * (USDC_50 + fee)
    )
    refund = await (await create(client, merchant, payment=overpaid.id)).get_json()
    assert refund["amount_base_units"] == str(2 * USDC_50)


async def test_list_by_a_payment_id_longer_than_any_is_empty(
    client, merchant: MerchantKeys
) -> None:
    for length in (49, 64):
        response = await client.get(f"/v1/refunds?payment={'p' * length}", headers=merchant.auth())
        body = await response.get_json()
        assert response.status_code == 200 and body["data"] == [], body


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"amount_crypto": "abc"}, "amount_invalid", "amount_crypto"),
        ({"amount_crypto": "-1"}, "amount_invalid", "amount_crypto"),
        ({"amount_crypto": "0.0000001"}, "amount_precision_invalid", "amount_crypto"),
        ({"amount_base_units": "0"}, "amount_too_small", "amount"),
        ({"amount_base_units": "1.5"}, "string_pattern_mismatch", "amount_base_units"),
        ({"amount_base_units": True}, "parameter_invalid_string", "amount_base_units"),
        (
            {"amount_crypto": "1", "amount_base_units": "1"},
            "parameters_exclusive",
            "amount_base_units",
        ),
        ({"amount": "1"}, "parameter_unknown", "amount"),
        ({"reason": "x" * 501}, "parameter_invalid_string", "reason"),
        ({"metadata": {"k": 1}}, "parameter_invalid_string", "metadata[k]"),
    ],
)
async def test_bad_input_is_a_400_naming_the_param(
    client, merchant: MerchantKeys, body: dict[str, Any], code: str, param: str
) -> None:
    payment = await confirmed_payment(merchant)
    response = await create(client, merchant, payment=payment.id, **body)
    await assert_error(response, 400, "invalid_request_error", code, param)
    assert await Refund.filter(payment_id=payment.id).count() == 0


async def test_only_confirmed_payments_of_the_callers_mode(client, merchant: MerchantKeys) -> None:
    session = await make_session(merchant.merchant.id)
    pending = await make_payment(session)
    response = await create(client, merchant, payment=pending.id)
    await assert_error(response, 400, "invalid_request_error", "payment_not_refundable", "payment")
    missing = await create(client, merchant, payment="pay_nothing")
    await assert_error(missing, 404, "invalid_request_error", "resource_missing", "payment")
    other = await confirmed_payment(await new_merchant())
    theirs = await create(client, merchant, payment=other.id)
    await assert_error(theirs, 404, "invalid_request_error", "resource_missing", "payment")
    test_payment = await confirmed_payment(merchant)
    live = await create(client, merchant, livemode=True, payment=test_payment.id)
    await assert_error(live, 404, "invalid_request_error", "resource_missing", "payment")
    no_payout = await new_merchant(payouts={})
    unpaid = await confirmed_payment(no_payout)
    refused = await create(client, no_payout, payment=unpaid.id)
    await assert_error(refused, 400, "invalid_request_error", "payout_address_missing", "payment")


async def test_list_filters_and_pages(client, merchant: MerchantKeys) -> None:
    one, two = await confirmed_payment(merchant), await confirmed_payment(merchant)
    ids = []
    for payment in (one, two, two):
        body = await (
            await create(client, merchant, payment=payment.id, amount_base_units="1000")
        ).get_json()
        ids.append(body["id"])
    await client.post(f"/v1/refunds/{ids[2]}/cancel", headers=merchant.auth())

    async def listed(query: str) -> list[str]:
        response = await client.get(f"/v1/refunds?{query}", headers=merchant.auth())
        body = await response.get_json()
        assert response.status_code == 200, body
        assert body["object"] == "list" and body["url"] == "/v1/refunds"
        return [r["id"] for r in body["data"]]

    assert await listed("") == ids[::-1]
    assert await listed(f"payment={two.id}") == [ids[2], ids[1]]
    assert await listed("status=canceled") == [ids[2]]
    assert await listed("status=pending_address&limit=1") == [ids[1]]
    assert await listed(f"limit=1&starting_after={ids[1]}") == [ids[0]]
    bad = await client.get("/v1/refunds?status=paid", headers=merchant.auth())
    await assert_error(bad, 400, "invalid_request_error", "parameter_invalid_value", "status")
    # Live keys see live refunds only.
    live = await client.get("/v1/refunds", headers=merchant.auth(livemode=True))
    assert (await live.get_json())["data"] == []
    foreign = await client.get(f"/v1/refunds/{ids[0]}", headers=merchant.auth(livemode=True))
    await assert_error(foreign, 404, "invalid_request_error", "resource_missing", "id")


async def test_idempotency_key_makes_one_refund(client, merchant: MerchantKeys) -> None:
    payment = await confirmed_payment(merchant)
    headers = {**merchant.auth(), "Idempotency-Key": "refund-order-42"}
    body = {"payment": payment.id, "amount_base_units": "1000"}
    first = await client.post("/v1/refunds", json=body, headers=headers)
    second = await client.post("/v1/refunds", json=body, headers=headers)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert await first.get_json() == await second.get_json()
    assert await Refund.filter(payment_id=payment.id).count() == 1
    event = await Event.get(object_id=(await first.get_json())["id"])
    assert event.idempotency_key == "refund-order-42"


class FakeSmtp:
    """Stands in for smtplib.SMTP: records what would be sent."""

    sent: list[EmailMessage] = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address = (host, port)

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def ehlo(self) -> None: ...

    def has_extn(self, name: str) -> bool:
        return False

    def login(self, user: str, password: str) -> None:
        assert (user, password) == ("shop", "p@ss")

    def send_message(self, message: EmailMessage) -> None:
        self.sent.append(message)


async def test_the_claim_link_is_e_mailed_when_smtp_is_set(
    app: Quart, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from app.refunds import _sending

    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)
    FakeSmtp.sent = []
    payment = await confirmed_payment(merchant, session={"customer_email": "ann@example.com"})
    settings = app.config["KASSA_SETTINGS"].model_copy(
        update={"smtp_url": "smtp://shop:p%40ss@127.0.0.1:2525", "smtp_from": "shop@example.com"}
    )
    client = app.test_client()
    refund = await (await create(client, merchant, payment=payment.id)).get_json()
    # The API sends nothing without SMTP settings (the test app has none) …
    await asyncio.gather(*_sending)
    assert FakeSmtp.sent == []
    # … and with them, one message to the session's customer_email, with the claim link.
    await send_claim_email(await Refund.get(id=refund["id"]), settings)
    await asyncio.gather(*_sending)
    (message,) = FakeSmtp.sent
    assert message["To"] == "ann@example.com" and message["From"] == "shop@example.com"
    assert refund["claim_url"] in message.get_content()
    assert "50 USDC" in message["Subject"]


async def test_concurrent_refunds_cannot_exceed_the_payment(merchant: MerchantKeys) -> None:
    """Five refunds of 20 of the 50 USDC at once: the payment row is locked while each one
    checks what is left, so exactly two fit."""
    import asyncio

    from app.networks import current_registry
    from app.refunds import RefundRefused, create_refund

    payment = await confirmed_payment(merchant)

    async def refund() -> str:
        try:
            created = await create_refund(
                payment, registry=current_registry(), actor="cli", amount=20_000_000
            )
        except RefundRefused as refused:
            return refused.code
        return created.status

    outcomes = sorted(await asyncio.gather(*(refund() for _ in range(5))))
    assert outcomes == ["amount_too_large"] * 3 + ["pending_address"] * 2
    assert await Refund.filter(payment_id=payment.id).count() == 2
