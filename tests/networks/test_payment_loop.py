"""The whole loop on a real devnet: session → payment → wallet pays → watcher → completed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.models import ChainObservation, CheckoutSession, Event, Payment
from app.watcher import ChainWatcher
from tests.chain import DevChain
from tests.networks.conftest import Api, event_types

pytestmark = pytest.mark.chain


@pytest.mark.parametrize(
    ("currency", "amount_base_units"),
    [
        ("ETH", str(25 * 10**18 // 2000)),  # 25.00 USD at 2000 USD/ETH
        ("USDC", "25000000"),  # 6 decimals, pegged 1:1
        ("USDT", "25000000"),  # no return values from transfer/approve
    ],
)
async def test_full_loop(
    api: Api, chain: DevChain, watcher: ChainWatcher, currency: str, amount_base_units: str
) -> None:
    session = await api.session()
    status, payment = await api.payment(session["id"], currency)
    assert status == 200, payment
    assert payment["id"].startswith("pay_")
    assert payment["object"] == "payment"
    assert payment["status"] == "pending"
    assert payment["amount_base_units"] == amount_base_units
    assert Decimal(payment["amount_crypto"]) * 10 ** payment["decimals"] == int(amount_base_units)
    assert payment["amount_fiat"] == "25.00" and payment["amount_fiat_cents"] == 2500
    assert payment["network"] == "devnet" and payment["crypto_currency"] == currency
    assert payment["to_contract"] == chain.contract_address
    assert payment["min_confirmations"] == 1
    assert payment["tx_hash"] is None and payment["confirmations"] == 0
    assert payment["session"] == session["id"] and payment["livemode"] is False
    assert payment["eip681_uri"].startswith("ethereum:")
    if currency == "ETH":
        assert payment["value"] == amount_base_units and payment["approve"] is None
    else:
        assert payment["value"] == "0"
        assert payment["approve"]["spender"] == chain.contract_address
        assert payment["approve"]["amount"] == amount_base_units
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["payment_id"] == payment["id"]

    await watcher.poll_once()  # the cursor starts before the payment's transaction
    tx_hash = await chain.pay(payment)
    step = await watcher.poll_once()
    assert step.attached == [payment["id"]]
    seen = await api.get(f"/v1/payments/{payment['id']}")
    assert seen["tx_hash"] == tx_hash
    # devnet: 1 confirmation, so the block holding the payment is already final.
    assert step.confirmed == [payment["id"]]
    assert seen["status"] == "confirmed" and seen["confirmations"] == 1
    assert seen["payer"] == chain.kassa.roles.payer
    completed = await api.get(f"/v1/checkout/sessions/{session['id']}")
    assert completed["status"] == "completed"
    assert await event_types(payment["id"]) == [
        "payment.created",
        "payment.pending",
        "payment.confirmed",
    ]
    assert await event_types(session["id"]) == ["checkout.session.completed"]
    # Polling again changes nothing.
    again = await watcher.poll_once()
    assert again.confirmed == [] and again.attached == []
    assert await ChainObservation.filter(tx_hash=tx_hash).count() == 1


async def test_confirmations_counted_before_final(api: Api, chain: DevChain, make_registry) -> None:
    registry = make_registry(confirmations=3)
    watcher = ChainWatcher(registry.networks["devnet"], registry)
    session = await api.session()
    status, payment = await api.payment(session["id"], "ETH")
    assert status == 200 and payment["min_confirmations"] == 3
    await watcher.poll_once()
    await chain.pay(payment)
    assert (await watcher.poll_once()).attached == [payment["id"]]
    row = await Payment.get(id=payment["id"])
    assert row.status == "pending" and row.confirmations == 1
    await chain.mine(1)
    await watcher.poll_once()
    assert (await Payment.get(id=payment["id"])).confirmations == 2
    await chain.mine(1)
    assert (await watcher.poll_once()).confirmed == [payment["id"]]
    assert (await CheckoutSession.get(id=session["id"])).status == "completed"
    assert await Event.filter(object_id=payment["id"], type="payment.confirmed").count() == 1


async def test_finalized_tag_policy_and_fee(api: Api, chain: DevChain, make_registry) -> None:
    """finality = "finalized": final only once the node's `finalized` block covers it (anvil
    with one slot per epoch: latest − 2). A configured fee rides on top of the amount."""
    registry = make_registry(finality="finalized", fee_basis_points=100)
    watcher = ChainWatcher(registry.networks["devnet"], registry)
    session = await api.session()
    status, payment = await api.payment(session["id"], "ETH")
    assert status == 200
    amount = int(payment["amount_base_units"])
    assert int(payment["fee_base_units"]) == -(-amount // 100)
    assert int(payment["value"]) == amount + int(payment["fee_base_units"])
    fee_recipient = chain.kassa.roles.fee_recipient
    before = await chain.w3.eth.get_balance(fee_recipient)
    await watcher.poll_once()
    await chain.pay(payment)
    step = await watcher.poll_once()
    assert step.attached == [payment["id"]] and step.confirmed == []
    await chain.mine(1)
    assert (await watcher.poll_once()).confirmed == []
    await chain.mine(1)
    assert (await watcher.poll_once()).confirmed == [payment["id"]]
    assert await chain.w3.eth.get_balance(fee_recipient) - before == int(payment["fee_base_units"])


async def test_create_payment_is_idempotent(api: Api, registry) -> None:
    session = await api.session()
    headers = {**api.shop.auth(), "Idempotency-Key": "pay-once"}
    path = f"/v1/checkout/sessions/{session['id']}/payments"
    body = {"network": "devnet", "crypto_currency": "USDC"}
    first = await api.client.post(path, json=body, headers=headers)
    second = await api.client.post(path, json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert (await first.get_json())["payment"]["id"] == (await second.get_json())["payment"]["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert await Payment.filter(session_id=session["id"]).count() == 1


async def test_foreign_logs_are_recorded_but_credit_nothing(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    """A log of the contract that no payment here signed (another gateway on the same
    contract, a hand-made intent) is kept as an observation and credits nothing."""
    await watcher.poll_once()
    intent = await chain.kassa.intent(amount=10**15, session=2**200)
    await chain.kassa.pay(intent)
    step = await watcher.poll_once()
    assert step.logs == 1 and step.attached == [] and step.confirmed == []
    [observation] = await ChainObservation.filter(network="devnet")
    assert observation.payment_id is None and "no payment" in observation.mismatch
    assert observation.amount == 10**15 and observation.canonical


async def test_log_that_differs_from_the_intent_is_not_credited(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    """Same payment ref, different amount (a second signer or a bug): refused and recorded."""
    session = await api.session()
    _, payment = await api.payment(session["id"], "ETH")
    row = await Payment.get(id=payment["id"])
    await watcher.poll_once()
    forged = await chain.kassa.intent(
        amount=row.amount_base_units - 1,
        session=row.session_nonce,
        payment_ref=bytes.fromhex(row.payment_ref[2:]),
    )
    await chain.kassa.pay(forged)
    step = await watcher.poll_once()
    assert step.logs == 1 and step.attached == []
    [observation] = await ChainObservation.filter(network="devnet")
    assert observation.payment_id == row.id and observation.mismatch.startswith("amount")
    assert (await Payment.get(id=row.id)).tx_hash is None
