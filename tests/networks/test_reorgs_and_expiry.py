"""Reorgs, restarts, deep reorgs (halt), chain-time expiry, and double payments."""

from __future__ import annotations

import datetime as dt

import pytest

from app.doctor import HALTED_FOR_API
from app.models import ChainCursor, ChainObservation, CheckoutSession, Event, Payment, SessionNonce
from app.sessions import expire_due_sessions
from app.watcher import ChainWatcher
from tests.api.helpers import unix_time
from tests.chain import DEVNET, DevChain
from tests.networks.conftest import Api, RegistryFactory, event_types

pytestmark = pytest.mark.chain


def devnet_watcher(make_registry: RegistryFactory, **network: object) -> ChainWatcher:
    registry = make_registry(**network)
    return ChainWatcher(registry.networks[DEVNET], registry)


async def paid_and_seen(api: Api, chain: DevChain, watcher: ChainWatcher) -> dict:
    session = await api.session()
    status, payment = await api.payment(session["id"], "ETH")
    assert status == 200, payment
    await watcher.poll_once()
    await chain.pay(payment)
    assert (await watcher.poll_once()).attached == [payment["id"]]
    return payment


async def test_reorg_before_confirmation_then_reincluded(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    watcher = devnet_watcher(make_registry, confirmations=3)
    payment = await paid_and_seen(api, chain, watcher)
    first = await Payment.get(id=payment["id"])

    await chain.reorg(1)  # the payment's block is replaced by an empty one
    step = await watcher.poll_once()
    assert step.reorged == [payment["id"]]
    row = await Payment.get(id=payment["id"])
    assert row.status == "pending" and row.tx_hash is None and row.block_number is None
    assert not (await ChainObservation.get(tx_hash=first.tx_hash)).canonical

    await chain.reorg(1, [(chain.pay_request(payment), 0)])  # re-included (new hash)
    assert (await watcher.poll_once()).attached == [payment["id"]]
    await chain.mine(2)
    assert (await watcher.poll_once()).confirmed == [payment["id"]]
    for _ in range(3):
        await chain.mine(1)
        await watcher.poll_once()
    row = await Payment.get(id=payment["id"])
    assert row.status == "confirmed" and row.tx_hash != first.tx_hash
    assert await event_types(payment["id"]) == [
        "payment.created",
        "payment.pending",
        "payment.reorged",
        "payment.pending",
        "payment.confirmed",
    ]
    assert (await CheckoutSession.get(id=payment["session"])).status == "completed"


async def test_restart_rewinds_from_stale_cursor(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    watcher = devnet_watcher(make_registry, confirmations=3)
    payment = await paid_and_seen(api, chain, watcher)
    stale = await ChainCursor.get(network=DEVNET)
    # The watcher is stopped: the chain moves on and reorganises under it.
    await chain.mine(1)
    await chain.reorg(2, [(chain.pay_request(payment), 1)])
    await chain.mine(2)
    restarted = devnet_watcher(make_registry, confirmations=3)
    step = await restarted.poll_once()
    assert step.reorged == [payment["id"]]
    assert step.attached == [payment["id"]] and step.confirmed == [payment["id"]]
    cursor = await ChainCursor.get(network=DEVNET)
    assert cursor.block_number == await chain.head() and cursor.block_hash != stale.block_hash
    # Same end state as a watcher that saw everything: confirmed once, on the new tx.
    assert await event_types(payment["id"]) == [
        "payment.created",
        "payment.pending",
        "payment.reorged",
        "payment.pending",
        "payment.confirmed",
    ]
    canonical = await ChainObservation.filter(network=DEVNET, canonical=True)
    assert [o.tx_hash for o in canonical] == [(await Payment.get(id=payment["id"])).tx_hash]


async def test_reorg_of_a_confirmed_payment_halts(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    payment = await paid_and_seen(api, chain, watcher)  # devnet: final at once
    assert (await Payment.get(id=payment["id"])).status == "confirmed"
    await chain.reorg(2)
    step = await watcher.poll_once()
    assert step.halted and step.reorged == []
    cursor = await ChainCursor.get(network=DEVNET)
    assert cursor.halted and payment["id"] in (cursor.halt_reason or "")
    # Nothing was reverted: the payment stays confirmed and the session completed.
    assert (await Payment.get(id=payment["id"])).status == "confirmed"
    assert (await CheckoutSession.get(id=payment["session"])).status == "completed"
    assert (await watcher.poll_once()).halted
    networks = await api.get("/v1/networks")
    [devnet] = [n for n in networks["data"] if n["id"] == DEVNET]
    assert devnet["watcher"]["status"] == "halted"
    # The reason names the payment for the operator only (test_chain_guards.py).
    assert devnet["watcher"]["halt_reason"] == HALTED_FOR_API


async def test_reorg_past_the_window_halts(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    registry = make_registry(settings_overrides={"watcher_reorg_window": 4})
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    await watcher.poll_once()
    await chain.mine(6)
    await watcher.poll_once()
    # A transfer makes the replacement chain differ from the empty blocks it replaces.
    transfer = {"from": chain.kassa.roles.other, "to": chain.merchant, "value": hex(1)}
    await chain.reorg(6, [(transfer, 0)])
    step = await watcher.poll_once()
    assert step.halted
    cursor = await ChainCursor.get(network=DEVNET)
    assert "deeper than" in (cursor.halt_reason or "")


async def test_payment_expires_only_after_chain_passes_deadline(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    session = await api.session()
    status, payment = await api.payment(session["id"], "ETH")
    assert status == 200
    deadline = unix_time(payment["expires_at"])
    await watcher.poll_once()
    await chain.set_next_timestamp(deadline)
    await chain.mine(1)
    assert (await watcher.poll_once()).expired == []  # the deadline itself is still valid
    await chain.set_next_timestamp(deadline + 1)
    await chain.mine(1)
    assert (await watcher.poll_once()).expired == [payment["id"]]
    assert await event_types(payment["id"]) == ["payment.created", "payment.expired"]
    # The session expires on its own clock (wall time), not before.
    assert (await CheckoutSession.get(id=session["id"])).status == "open"
    await CheckoutSession.filter(id=session["id"]).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    await expire_due_sessions()
    assert (await CheckoutSession.get(id=session["id"])).status == "expired"


async def test_tx_mined_before_deadline_but_seen_after_confirms(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    watcher = devnet_watcher(make_registry, confirmations=3)
    session = await api.session()
    status, payment = await api.payment(session["id"], "ETH")
    await watcher.poll_once()
    deadline = unix_time(payment["expires_at"])
    await chain.set_next_timestamp(deadline)  # mined at the deadline: valid
    await chain.pay(payment)
    await chain.set_next_timestamp(deadline + 600)
    await chain.mine(3)
    step = await watcher.poll_once()
    assert step.attached == [payment["id"]] and step.confirmed == [payment["id"]]
    assert step.expired == []
    assert (await CheckoutSession.get(id=session["id"])).status == "completed"


async def test_session_not_expired_while_tx_seen_but_not_final(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    watcher = devnet_watcher(make_registry, confirmations=4)
    payment = await paid_and_seen(api, chain, watcher)
    await CheckoutSession.filter(id=payment["session"]).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    await expire_due_sessions()
    assert (await CheckoutSession.get(id=payment["session"])).status == "open"
    status, body = await api.call("POST", f"/v1/checkout/sessions/{payment['session']}/expire")
    assert status == 400 and body["error"]["code"] == "checkout_session_payment_in_progress"
    await chain.mine(3)
    assert (await watcher.poll_once()).confirmed == [payment["id"]]
    assert (await CheckoutSession.get(id=payment["session"])).status == "completed"


async def test_second_payment_for_completed_session_is_recorded(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    watcher = devnet_watcher(make_registry, confirmations=2)
    session = await api.session()
    _, first = await api.payment(session["id"], "ETH")
    await watcher.poll_once()
    await chain.pay(first)
    assert (await watcher.poll_once()).attached == [first["id"]]  # seen, not final yet
    # Same network, same session nonce: the contract itself refuses paying twice here.
    # Paying twice takes two chains; simulate the other chain with a fresh nonce.
    await SessionNonce.filter(network=DEVNET, session_id=session["id"]).update(
        nonce_index=10**12 + unix_time(first["expires_at"])
    )
    # Another option while the first payment's transaction is seen: the first stays pending.
    _, third = await api.payment(session["id"], "USDC")
    assert first["data"] != third["data"]
    assert (await Payment.get(id=first["id"])).status == "pending"
    await chain.mine(1)
    assert (await watcher.poll_once()).confirmed == [first["id"]]
    await chain.pay(third)
    await watcher.poll_once()
    await chain.mine(1)
    assert (await watcher.poll_once()).confirmed == [third["id"]]
    assert (await CheckoutSession.get(id=session["id"])).status == "completed"
    assert (await CheckoutSession.get(id=session["id"])).payment_id == first["id"]
    assert await Event.filter(object_id=third["id"], type="payment.confirmed").count() == 1
    assert await Event.filter(object_id=session["id"]).count() == 1
