"""Paying from any wallet or exchange: a plain transfer to the payment's deposit address, on a
real devnet with the deposit factory, credited by the watcher and swept to the merchant."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app import deposits
from app.models import ChainObservation, CheckoutSession, Payment
from app.networks import Registry
from app.watcher import ChainWatcher
from tests.api.helpers import unix_time
from tests.chain import DEVNET, DevChain
from tests.networks.conftest import Api, RegistryFactory, event_types

pytestmark = pytest.mark.chain


@pytest.fixture
def deposit_registry(make_registry: RegistryFactory, chain: DevChain) -> Registry:
    deposits._recently_swept.clear()
    return make_registry(deposit_factory=chain.deposit_factory, sweeper_key=chain.sweeper_key)


@pytest.fixture
def watcher(deposit_registry: Registry) -> ChainWatcher:
    return ChainWatcher(deposit_registry.networks[DEVNET], deposit_registry)


def token_of(chain: DevChain, currency: str) -> str | None:
    return None if currency == "ETH" else chain.token_address(currency.lower())


async def new_payment(api: Api, currency: str = "ETH") -> tuple[dict[str, Any], dict[str, Any]]:
    session = await api.session()
    status, payment = await api.payment(session["id"], currency)
    assert status == 200, payment
    return session, payment


async def settle(watcher: ChainWatcher, chain: DevChain) -> None:
    """Poll, sweep what is final, mine the sweep, poll again (the watcher sees the sweep)."""
    await watcher.poll_once()
    await deposits.sweep_due(watcher.network)
    await chain.mine(1)
    await watcher.poll_once()


@pytest.mark.parametrize("currency", ["ETH", "USDC", "USDT"])
async def test_exact_plain_transfer_confirms_and_is_swept(
    api: Api, chain: DevChain, watcher: ChainWatcher, currency: str
) -> None:
    session, payment = await new_payment(api, currency)
    deposit = payment["deposit_address"]
    token = token_of(chain, currency)
    assert deposit and deposit != chain.contract_address
    assert chain.contract_address not in payment["eip681_uri"]  # never a place to send money
    if token is None:
        assert payment["eip681_uri"] == (
            f"ethereum:{deposit}@{chain.node.chain_id}?value={payment['amount_base_units']}"
        )
    else:
        assert payment["eip681_uri"] == (
            f"ethereum:{token}@{chain.node.chain_id}/transfer?address={deposit}"
            f"&uint256={payment['amount_base_units']}"
        )
    assert await chain.w3.eth.get_code(deposit) == b""  # nothing deployed before money
    amount = int(payment["amount_base_units"])
    merchant_before = await chain.balance(chain.merchant, token)

    await watcher.poll_once()
    await chain.transfer(deposit, amount, token)
    await settle(watcher, chain)

    done = await api.get(f"/v1/payments/{payment['id']}")
    assert done["status"] == "confirmed" and done["late"] is False
    assert Decimal(done["amount_received"]) == Decimal(payment["amount_crypto"])
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "completed"
    assert await chain.balance(chain.merchant, token) == merchant_before + amount
    assert await chain.balance(deposit, token) == 0
    row = await Payment.get(id=payment["id"])
    assert row.sweep_due is False and row.sweep_gas > 0
    assert await event_types(payment["id"]) == [
        "payment.created",
        "payment.pending",
        "payment.confirmed",
    ]


async def test_underpay_then_top_up_confirms_once(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    session, payment = await new_payment(api, "USDC")
    token, amount = chain.token_address("usdc"), int(payment["amount_base_units"])
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount - 1_000_000, token)
    await settle(watcher, chain)
    short = await api.get(f"/v1/payments/{payment['id']}")
    assert (
        short["status"] == "pending"
        and Decimal(short["amount_received"]) == Decimal(amount - 1_000_000) / 10**6
    )
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "open"
    await chain.transfer(payment["deposit_address"], 1_000_000, token)
    await settle(watcher, chain)
    await settle(watcher, chain)
    done = await api.get(f"/v1/payments/{payment['id']}")
    assert done["status"] == "confirmed"
    assert await event_types(payment["id"]) == [
        "payment.created",
        "payment.pending",
        "payment.underpaid",
        "payment.confirmed",
    ]
    assert await chain.balance(payment["deposit_address"], token) == 0


async def test_overpay_confirms_and_records_the_excess(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    _, payment = await new_payment(api, "ETH")
    amount = int(payment["amount_base_units"])
    merchant_before = await chain.balance(chain.merchant)
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount + 10**15)
    await settle(watcher, chain)
    done = await api.get(f"/v1/payments/{payment['id']}")
    assert done["status"] == "confirmed"
    assert Decimal(done["amount_received"]) * 10**18 == amount + 10**15
    assert "payment.overpaid" in await event_types(payment["id"])
    assert await chain.balance(chain.merchant) == merchant_before + amount + 10**15


@pytest.mark.parametrize("closed_by", ["expire", "cancel"])
async def test_money_after_the_session_closed_is_late_and_at_the_merchant(
    api: Api, chain: DevChain, watcher: ChainWatcher, closed_by: str
) -> None:
    session, payment = await new_payment(api, "USDC")
    token, amount = chain.token_address("usdc"), int(payment["amount_base_units"])
    if closed_by == "expire":
        status, _ = await api.call("POST", f"/v1/checkout/sessions/{session['id']}/expire")
        assert status == 200
    else:
        await CheckoutSession.filter(id=session["id"]).update(status="canceled")
    merchant_before = await chain.balance(chain.merchant, token)
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount, token)
    await settle(watcher, chain)
    done = await api.get(f"/v1/payments/{payment['id']}")
    assert done["status"] == "confirmed" and done["late"] is True
    closed = await api.get(f"/v1/checkout/sessions/{session['id']}")
    assert closed["status"] == ("expired" if closed_by == "expire" else "canceled")
    assert await chain.balance(chain.merchant, token) == merchant_before + amount


async def test_money_after_the_payment_expired_confirms_it_late(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    _, payment = await new_payment(api, "ETH")
    await watcher.poll_once()
    await chain.set_next_timestamp(unix_time(payment["expires_at"]) + 1)
    await chain.mine(1)
    assert (await watcher.poll_once()).expired == [payment["id"]]
    await chain.transfer(payment["deposit_address"], int(payment["amount_base_units"]))
    await settle(watcher, chain)
    done = await api.get(f"/v1/payments/{payment['id']}")
    assert done["status"] == "confirmed" and done["late"] is True


async def test_a_wrong_token_is_swept_and_reported(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    session, payment = await new_payment(api, "USDC")
    usdt = chain.token_address("usdt")
    merchant_before = await chain.balance(chain.merchant, usdt)
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], 5_000_000, usdt)
    await settle(watcher, chain)
    assert (await api.get(f"/v1/payments/{payment['id']}"))["status"] == "pending"
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "open"
    assert "payment.unexpected_token" in await event_types(payment["id"])
    assert await chain.balance(chain.merchant, usdt) == merchant_before + 5_000_000
    assert await chain.balance(payment["deposit_address"], usdt) == 0


async def test_a_reorged_transfer_is_not_credited_twice(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    deposits._recently_swept.clear()
    registry = make_registry(
        deposit_factory=chain.deposit_factory, sweeper_key=chain.sweeper_key, confirmations=3
    )
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    _, payment = await new_payment(api, "USDC")
    token, amount = chain.token_address("usdc"), int(payment["amount_base_units"])
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount, token)
    await watcher.poll_once()
    seen = await Payment.get(id=payment["id"])
    assert seen.amount_received == amount and seen.amount_final == 0 and seen.transfer_in_flight
    await chain.reorg(1)  # the transfer's block is replaced before it was final
    await watcher.poll_once()
    gone = await Payment.get(id=payment["id"])
    assert gone.amount_received == 0 and gone.status == "pending"
    await chain.transfer(payment["deposit_address"], amount, token)  # the exchange sends again
    await chain.mine(3)
    await watcher.poll_once()
    # A restart from a stale cursor (a backup restored, say) rescans those blocks:
    # observations are idempotent and nothing is credited twice.
    from app.models import ChainCursor

    cursor = await ChainCursor.get(network=DEVNET)
    stale = [entry for entry in cursor.recent_hashes if entry[0] <= cursor.block_number - 5][-1]
    cursor.block_number, cursor.block_hash, cursor.block_timestamp = stale
    await cursor.save()
    fresh = ChainWatcher(registry.networks[DEVNET], registry)
    await fresh.poll_once()
    done = await Payment.get(id=payment["id"])
    assert done.status == "confirmed" and done.amount_final == amount
    assert await event_types(payment["id"]) == [
        "payment.created",
        "payment.pending",
        "payment.reorged",
        "payment.pending",
        "payment.confirmed",
    ]
    credited = await ChainObservation.filter(
        payment_id=payment["id"], kind="transfer", canonical=True
    ).count()
    assert credited == 1


async def test_a_sweep_lost_mid_batch_is_repeated_without_double_credit(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    """The sweeper dies after its transaction was sent (nothing recorded): the next round
    sweeps again; the money reaches the merchant once and nothing is credited twice."""
    payments = [(await new_payment(api, "ETH"))[1] for _ in range(3)]
    merchant_before = await chain.balance(chain.merchant)
    await watcher.poll_once()
    for payment in payments:
        await chain.transfer(payment["deposit_address"], int(payment["amount_base_units"]))
    await watcher.poll_once()
    network = watcher.network
    due = await Payment.filter(id__in=[p["id"] for p in payments], sweep_due=True)
    assert len(due) == 3
    from app.networks import DepositSweep

    await network.sweep(  # type: ignore[attr-defined]
        [DepositSweep(p.id, p.deposit_address or "", dict(p.deposit_terms or {}), ()) for p in due]
    )  # ... and the sweeper process is killed here: the report is lost
    await chain.mine(1)
    await deposits.sweep_due(network)  # a new sweeper does not know: sweeps (empty) again
    await chain.mine(1)
    await watcher.poll_once()
    total = sum(int(p["amount_base_units"]) for p in payments)
    assert await chain.balance(chain.merchant) == merchant_before + total
    for payment in payments:
        row = await Payment.get(id=payment["id"])
        assert row.status == "confirmed" and row.amount_final == int(payment["amount_base_units"])
        assert row.sweep_due is False
        assert await chain.balance(payment["deposit_address"]) == 0


async def test_an_unpaid_payment_expires_on_an_idle_chain(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    _, payment = await new_payment(api, "ETH")
    await watcher.poll_once()
    # No block is mined: only the node's clock moves past the deadline.
    await Payment.filter(id=payment["id"]).update(deadline=unix_time(payment["expires_at"]) - 10**6)
    assert (await watcher.poll_once()).expired == [payment["id"]]


async def test_native_money_of_an_open_payment_waits_for_its_sweep(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    """A swept address holds a contract, and exchanges send the coin with the bare 21,000
    gas: so the coin at an underpaid, still open payment's address is not swept, and a top-up
    from an exchange still arrives."""
    _, payment = await new_payment(api, "ETH")
    amount = int(payment["amount_base_units"])
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount // 2)
    await settle(watcher, chain)
    row = await Payment.get(id=payment["id"])
    assert row.status == "pending" and row.sweep_due is False
    assert await chain.w3.eth.get_code(payment["deposit_address"]) == b""
    await chain.transfer(payment["deposit_address"], amount - amount // 2)  # 21,000 gas
    await settle(watcher, chain)
    done = await Payment.get(id=payment["id"])
    assert done.status == "confirmed" and await chain.balance(payment["deposit_address"]) == 0


async def test_the_page_tells_late_and_partial_payments_truthfully(
    api: Api, chain: DevChain, watcher: ChainWatcher, client: Any
) -> None:
    """No page says "Nothing was charged" while money for the session is seen or confirmed."""
    session, payment = await new_payment(api, "USDC")
    token, amount = chain.token_address("usdc"), int(payment["amount_base_units"])
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount // 2, token)
    await settle(watcher, chain)
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    missing = Decimal(amount - amount // 2) / 10**6
    assert f"{missing} USDC is still missing" in page and 'id="deposit-address"' in page
    status, _ = await api.call("POST", f"/v1/checkout/sessions/{session['id']}/expire")
    assert status == 200
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert "Nothing was charged" not in page and "Partly paid" in page
    await chain.transfer(payment["deposit_address"], amount - amount // 2, token)
    await settle(watcher, chain)
    assert (await api.get(f"/v1/payments/{payment['id']}"))["late"] is True
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert "Nothing was charged" not in page
    assert "arrived after this checkout closed" in page and "Payment received" in page


async def test_the_merchants_tolerance_accepts_a_small_shortfall(
    api: Api, chain: DevChain, watcher: ChainWatcher
) -> None:
    from app.models import Merchant

    await Merchant.filter(id=api.shop.merchant.id).update(underpayment_tolerance_bps=100)
    session, payment = await new_payment(api, "USDC")
    token, amount = chain.token_address("usdc"), int(payment["amount_base_units"])
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount - amount // 100, token)  # 1 % short
    await settle(watcher, chain)
    assert (await api.get(f"/v1/payments/{payment['id']}"))["status"] == "confirmed"
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "completed"


async def test_the_fee_is_split_at_the_deposit_address(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    deposits._recently_swept.clear()
    registry = make_registry(
        deposit_factory=chain.deposit_factory,
        sweeper_key=chain.sweeper_key,
        fee_basis_points=100,
        fee_recipient=chain.kassa.roles.fee_recipient,
    )
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    _, payment = await new_payment(api, "USDC")
    token = chain.token_address("usdc")
    amount, fee = int(payment["amount_base_units"]), int(payment["fee_base_units"])
    assert fee == amount // 100
    assert payment["eip681_uri"].endswith(f"&uint256={amount + fee}")  # the shopper pays both
    merchant, operator = chain.merchant, chain.kassa.roles.fee_recipient
    before = [await chain.balance(merchant, token), await chain.balance(operator, token)]
    await watcher.poll_once()
    await chain.transfer(payment["deposit_address"], amount + fee, token)
    await settle(watcher, chain)
    assert (await api.get(f"/v1/payments/{payment['id']}"))["status"] == "confirmed"
    gained = [
        await chain.balance(merchant, token) - before[0],
        await chain.balance(operator, token) - before[1],
    ]
    assert gained == [amount, fee] and await chain.balance(payment["deposit_address"], token) == 0


async def test_rpc_faults_lose_no_deposit_and_credit_none_twice(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    """Failing, stalling and range-limited nodes: every plain transfer is credited once."""
    from app.networks import RpcError
    from tests.networks.rpc_proxy import RpcProxy

    flaky = await RpcProxy(chain.node.rpc_url).start()
    lagging = await RpcProxy(chain.node.rpc_url).start()
    flaky.fail_every, flaky.max_log_range = 7, 3
    lagging.lag, lagging.fail_every = 2, 9
    deposits._recently_swept.clear()
    registry = make_registry(
        rpc_urls=[flaky.url, lagging.url],
        rpc_timeout_seconds=0.5,
        rpc_failback_seconds=0.2,
        confirmations=2,
        deposit_factory=chain.deposit_factory,
        sweeper_key=chain.sweeper_key,
    )
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    try:
        payments = [(await new_payment(api, c))[1] for c in ("ETH", "USDC", "USDT", "ETH")]
        for payment in payments:
            await chain.transfer(
                payment["deposit_address"],
                int(payment["amount_base_units"]),
                token_of(chain, payment["crypto_currency"]),
            )
            await chain.mine(2)
        for _ in range(40):
            try:
                await watcher.poll_once()
                await deposits.sweep_due(watcher.network)
            except RpcError:
                pass  # every node failed this time; the loop backs off and polls again
            await chain.mine(1)
            rows = await Payment.filter(id__in=[p["id"] for p in payments])
            if all(r.status == "confirmed" and not r.sweep_due for r in rows):
                break
        for payment in payments:
            row = await Payment.get(id=payment["id"])
            assert row.status == "confirmed", (
                payment["crypto_currency"],
                row.amount_received,
                row.amount_final,
                row.amount_base_units,
                row.deadline,
                row.min_confirmations,
            )
            assert row.amount_final == int(payment["amount_base_units"])
            assert (await event_types(payment["id"])).count("payment.confirmed") == 1
            token = token_of(chain, payment["crypto_currency"])
            assert await chain.balance(payment["deposit_address"], token) == 0
        assert flaky.injected["502"] and flaky.injected["range"]
    finally:
        await flaky.stop()
        await lagging.stop()


@pytest.mark.parametrize("way", ["transfer", "contract"])
async def test_the_devnet_test_wallet_pays_either_way(
    api: Api, chain: DevChain, make_registry: RegistryFactory, client: Any, app: Any, way: str
) -> None:
    import re

    deposits._recently_swept.clear()
    registry = make_registry(
        deposit_factory=chain.deposit_factory,
        sweeper_key=chain.sweeper_key,
        test_wallet=chain.kassa.roles.other,  # anvil unlocks its dev accounts
        public_rpc_url=chain.node.rpc_url,
    )
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    original = app.config["KASSA_SETTINGS"]
    app.config["KASSA_SETTINGS"] = original.model_copy(update={"dev_mode": True})
    try:
        session = await api.session()
        page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
        assert match
        csrf = match.group(1)
        response = await client.post(
            f"/checkout/{session['id']}/pay", form={"option": "devnet:USDC", "csrf_token": csrf}
        )
        assert response.status_code == 303
        page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
        assert "Pay with test wallet" in page and "Send from test wallet (plain transfer)" in page
        await watcher.poll_once()
        response = await client.post(
            f"/checkout/{session['id']}/test-wallet", form={"csrf_token": csrf, "way": way}
        )
        assert response.status_code == 303, await response.get_data(as_text=True)
        await chain.mine(1)
        await settle(watcher, chain)
        paid = await api.get(f"/v1/checkout/sessions/{session['id']}")
        assert paid["status"] == "completed"
        payment = await Payment.get(id=paid["payment_id"])
        assert (payment.tx_hash is None) == (way == "transfer")  # the contract path has a tx
    finally:
        app.config["KASSA_SETTINGS"] = original


async def test_an_intent_paid_after_cancel_is_late_and_the_page_says_so(
    api: Api, chain: DevChain, watcher: ChainWatcher, client: Any
) -> None:
    """The contract path too: an intent still valid on chain after the shopper pressed cancel
    is charged; the payment is confirmed late and no page says "Nothing was charged"."""
    session, payment = await new_payment(api, "ETH")
    await watcher.poll_once()
    await CheckoutSession.filter(id=session["id"]).update(status="canceled")
    await chain.pay(payment)
    await watcher.poll_once()
    done = await api.get(f"/v1/payments/{payment['id']}")
    assert done["status"] == "confirmed" and done["late"] is True
    assert (await api.get(f"/v1/checkout/sessions/{session['id']}"))["status"] == "canceled"
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert "Nothing was charged" not in page and "arrived after this checkout closed" in page
