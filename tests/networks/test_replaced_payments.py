"""Money sent through the contract for a payment that a switch of option replaced.

The shopper's wallet may send payment A's transaction just before the shopper picks another
option (payment B) and before the watcher saw A's transaction: A is expired then, but the
contract took the money within A's deadline. Nothing paid is hidden: the watcher attaches the
transaction to A (`payment.pending`), follows it through reorgs and confirms it. A completes
its session while the session is open (the shopper paid on the terms they signed: not late);
after the session closed (completed by B) it is confirmed late.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from app.models import CheckoutSession, Event, Payment
from app.sessions import expire_due_sessions
from app.watcher import ChainWatcher
from tests.chain import DEVNET, DevChain
from tests.networks.conftest import Api, RegistryFactory, event_types

pytestmark = pytest.mark.chain

HTMX = {"HX-Request": "true"}


@pytest.fixture
def watcher(make_registry: RegistryFactory, chain: DevChain) -> ChainWatcher:
    # Deposit addresses (B may be paid by a plain transfer) and three confirmations, so a
    # seen transaction stays short of final for a while.
    registry = make_registry(
        deposit_factory=chain.deposit_factory, sweeper_key=chain.sweeper_key, confirmations=3
    )
    return ChainWatcher(registry.networks[DEVNET], registry)


async def replaced(api: Api, watcher: ChainWatcher) -> tuple[dict[str, Any], dict[str, Any]]:
    """A session's ETH payment A, replaced by a USDC payment B (A expired, nothing seen)."""
    session = await api.session()
    _, first = await api.payment(session["id"], "ETH")
    await watcher.poll_once()  # the watcher's cursor starts before A can be paid
    return session, first


async def switch(api: Api, session: dict[str, Any]) -> dict[str, Any]:
    _, second = await api.payment(session["id"], "USDC")
    return second


async def session_row(session_id: str) -> CheckoutSession:
    return await CheckoutSession.get(id=session_id)


async def page_status(client: Client, session_id: str) -> str:
    response = await client.get(f"/checkout/{session_id}/status", headers=HTMX)
    assert response.status_code == 200
    return await response.get_data(as_text=True)


async def confirmed_events(payment_id: str) -> list[Event]:
    return await Event.filter(object_id=payment_id, type="payment.confirmed")


async def test_a_payment_paid_just_before_the_switch_completes_its_session(
    api: Api, chain: DevChain, watcher: ChainWatcher, client: Client
) -> None:
    session, first = await replaced(api, watcher)
    merchant_before = await chain.balance(chain.merchant)
    tx_hash = await chain.pay(first)  # the wallet sends A's transaction ...
    second = await switch(api, session)  # ... and the shopper switches before it is seen
    assert (await Payment.get(id=first["id"])).status == "expired"
    assert (await session_row(session["id"])).payment_id == second["id"]

    step = await watcher.poll_once()
    assert step.attached == [first["id"]] and step.confirmed == []
    seen = await Payment.get(id=first["id"])
    assert (seen.status, seen.tx_hash) == ("expired", tx_hash)
    assert seen.block_number is not None and seen.payer is not None
    assert await event_types(first["id"]) == [
        "payment.created",
        "payment.expired",
        "payment.pending",
    ]
    # The page follows the money on its way, not B's "waiting for your transaction".
    fragment = await page_status(client, session["id"])
    assert "Transaction seen" in fragment and "Waiting for your transaction" not in fragment
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert "Transaction seen" in page and 'name="option"' not in page
    # Money on its way keeps the session from timing out (architecture §4).
    await CheckoutSession.filter(id=session["id"]).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    assert await expire_due_sessions() == 0
    status, body = await api.call("POST", f"/v1/checkout/sessions/{session['id']}/expire")
    assert status == 400 and body["error"]["code"] == "checkout_session_payment_in_progress"

    await chain.mine(2)
    await watcher.poll_once()
    for _ in range(3):  # further polls change nothing
        await chain.mine(1)
        await watcher.poll_once()
    done = await api.get(f"/v1/payments/{first['id']}")
    assert done["status"] == "confirmed" and done["late"] is False
    assert done["tx_hash"] == tx_hash and done["confirmations"] >= 3
    assert await event_types(first["id"]) == [
        "payment.created",
        "payment.expired",
        "payment.pending",
        "payment.confirmed",
    ]
    [confirmed] = await confirmed_events(first["id"])
    assert confirmed.data["payment"]["late"] is False
    completed = await api.get(f"/v1/checkout/sessions/{session['id']}")
    assert completed["status"] == "completed" and completed["payment_id"] == first["id"]
    assert await event_types(session["id"]) == ["checkout.session.completed"]
    assert await chain.balance(chain.merchant) == merchant_before + int(first["amount_base_units"])
    assert 'data-final="confirmed"' in await page_status(client, session["id"])
    # B was never paid: it stays unpaid (its deadline expires it), nothing credited to it.
    unpaid = await Payment.get(id=second["id"])
    assert unpaid.status == "pending" and unpaid.tx_hash is None


async def test_a_reorged_transaction_of_a_replaced_payment_is_credited_once(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    session, first = await replaced(api, watcher)
    merchant_before = await chain.balance(chain.merchant)
    old_tx = await chain.pay(first)
    await switch(api, session)
    assert (await watcher.poll_once()).attached == [first["id"]]

    await chain.reorg(1)  # A's block is replaced by an empty one before it was final
    step = await watcher.poll_once()
    assert step.reorged == [first["id"]] and step.confirmed == []
    gone = await Payment.get(id=first["id"])
    assert (gone.status, gone.tx_hash, gone.block_number) == ("expired", None, None)
    assert await chain.balance(chain.merchant) == merchant_before  # the money left with it
    await chain.mine(4)
    assert (await watcher.poll_once()).confirmed == []
    assert (await Payment.get(id=first["id"])).status == "expired"
    assert (await session_row(session["id"])).status == "open"

    # The wallet's transaction is included again (new block, new hash): confirmed once.
    await chain.reorg(1, [(chain.pay_request(first), 0)])
    assert (await watcher.poll_once()).attached == [first["id"]]
    await chain.mine(2)
    assert (await watcher.poll_once()).confirmed == [first["id"]]
    for _ in range(3):
        await chain.mine(1)
        assert (await watcher.poll_once()).confirmed == []
    done = await Payment.get(id=first["id"])
    assert done.status == "confirmed" and done.tx_hash not in (None, old_tx)
    assert await event_types(first["id"]) == [
        "payment.created",
        "payment.expired",
        "payment.pending",
        "payment.reorged",
        "payment.pending",
        "payment.confirmed",
    ]
    assert (await session_row(session["id"])).status == "completed"
    assert await chain.balance(chain.merchant) == merchant_before + int(first["amount_base_units"])


async def test_a_replaced_payment_paid_after_the_session_completed_is_confirmed_late(
    api: Api, chain: DevChain, watcher: ChainWatcher, client: Client
) -> None:
    session, first = await replaced(api, watcher)
    second = await switch(api, session)
    # B is paid at its deposit address and completes the session.
    total = int(second["amount_base_units"]) + int(second["fee_base_units"])
    await chain.transfer(second["deposit_address"], total, chain.token_address("usdc"))
    await chain.mine(3)
    await watcher.poll_once()
    assert (await session_row(session["id"])).status == "completed"
    assert (await session_row(session["id"])).payment_id == second["id"]

    # Then A's transaction arrives too (the contract takes it until A's deadline).
    merchant_before = await chain.balance(chain.merchant)
    await chain.pay(first)
    assert (await watcher.poll_once()).attached == [first["id"]]
    await chain.mine(3)
    assert (await watcher.poll_once()).confirmed == [first["id"]]
    done = await api.get(f"/v1/payments/{first['id']}")
    assert done["status"] == "confirmed" and done["late"] is True
    assert await event_types(first["id"]) == [
        "payment.created",
        "payment.expired",
        "payment.pending",
        "payment.confirmed",
    ]
    [confirmed] = await confirmed_events(first["id"])
    assert confirmed.data["payment"]["late"] is True
    assert confirmed.data["checkout_session"]["status"] == "completed"
    # The session stays B's, completed once; the merchant has both amounts and was told.
    completed = await session_row(session["id"])
    assert (completed.status, completed.payment_id) == ("completed", second["id"])
    assert await event_types(session["id"]) == ["checkout.session.completed"]
    assert await chain.balance(chain.merchant) == merchant_before + int(first["amount_base_units"])
    assert 'data-final="confirmed"' in await page_status(client, session["id"])
