"""Refund recognition on a chain the core knows nothing about (toychain), both databases:
one transfer pays one refund, a seen transfer blocks the cancel and is only located again
(not searched for) until it is final, a reorg that removes it sends the core looking again,
every block is searched once per round for all refunds, and nothing a plugin raises there
fails the round's payments."""

from __future__ import annotations

import logging

import pytest
from quart.typing import TestClientProtocol as Client

from app.models import Payment, Refund
from app.networks import ChainTransfer, Registry
from app.refunds import (
    RefundRefused,
    _record_seen,
    cancel_refund,
    create_refund,
    provide_address,
    refundable_amount,
)
from app.watcher import ChainWatcher
from tests.conftest import MerchantKeys, new_merchant
from tests.plugins import test_toychain
from tests.plugins.toychain import TOY_USD, ToyNetwork, new_address
from tests.records import make_payment, make_session

TUSD_2 = 2_000_000  # 2 TUSD (6 decimals)
SHOPS: dict[str, MerchantKeys] = {}  # each payment's merchant and API keys
TOY = test_toychain.TOY
toy_registry = test_toychain.toy_registry  # the fixture: toychain in the running app


async def paid(registry: Registry, amount: int = TUSD_2) -> tuple[ToyNetwork, Payment, str]:
    """A confirmed TUSD payment on toychain (paid through its contract-like memo transfer),
    its network and the merchant's payout address."""
    network = registry.networks[TOY]
    assert isinstance(network, ToyNetwork)
    payout = new_address()
    shop = await new_merchant(payouts={TOY: payout})
    session = await make_session(shop.merchant.id, status="completed")
    payment = await make_payment(
        session,
        status="confirmed",
        network=TOY,
        crypto_currency="TUSD",
        token_address=TOY_USD.address,
        amount_base_units=amount,
        min_confirmations=3,
        tx_hash=new_address(),
    )
    SHOPS[payment.id] = shop
    return network, payment, payout


async def refund_to(
    registry: Registry, payment: Payment, address: str, amount: int | None = None
) -> Refund:
    refund = await create_refund(payment, registry=registry, actor="test", amount=amount)
    return await provide_address(refund, address, registry=registry)


async def test_one_transfer_pays_one_refund(toy_registry: Registry) -> None:
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    first = await refund_to(toy_registry, payment, shopper, TUSD_2 // 2)
    second = await refund_to(toy_registry, payment, shopper, TUSD_2 // 2)

    tx = network.chain.send(payout, shopper, TOY_USD.address, TUSD_2 // 2, "")
    network.chain.mine(3)
    assert (await watcher.poll_once()).refunded == [first.id]
    done, waiting = await Refund.get(id=first.id), await Refund.get(id=second.id)
    assert (done.status, done.tx_hash, done.tx_position) == ("succeeded", tx, 0)
    assert (waiting.status, waiting.tx_hash) == ("pending", None)
    network.chain.mine(2)
    assert (await watcher.poll_once()).refunded == []
    assert (await Refund.get(id=second.id)).status == "pending"

    # The second refund's own transfer pays it.
    again = network.chain.send(payout, shopper, TOY_USD.address, TUSD_2 // 2, "")
    network.chain.mine(3)
    assert (await watcher.poll_once()).refunded == [second.id]
    assert (await Refund.get(id=second.id)).tx_hash == again


async def test_a_transfer_recorded_on_another_refund_is_skipped_not_a_crash(
    toy_registry: Registry,
) -> None:
    """Two watcher processes racing: the unique index refuses the second record."""
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    first = await refund_to(toy_registry, payment, shopper, TUSD_2 // 2)
    second = await refund_to(toy_registry, payment, shopper, TUSD_2 // 2)
    transfer = ChainTransfer(
        tx_id=new_address(),
        position=0,
        block_number=network.chain.head.number,
        block_hash=network.chain.head.hash,
        sender=payout,
        recipient=shopper,
        token=TOY_USD.address,
        amount=TUSD_2 // 2,
    )
    assert await _record_seen(network, first, transfer)
    assert not await _record_seen(network, second, transfer)
    assert (await Refund.get(id=second.id)).tx_hash is None


async def test_a_seen_transfer_blocks_the_cancel_and_is_only_located_again(
    client: Client, toy_registry: Registry
) -> None:
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    refunds = [await refund_to(toy_registry, payment, new_address(), 1) for _ in range(3)]
    refund = await refund_to(toy_registry, payment, shopper, 1_000)

    network.chain.mine(5)
    before = network.blocks_read
    await watcher.poll_once()
    # Each new block searched once for the four refunds, not four times.
    assert network.blocks_read - before == 5
    for each in refunds + [refund]:
        assert (await Refund.get(id=each.id)).watch_from_block == network.chain.head.number

    tx = network.chain.send(payout, shopper, TOY_USD.address, 1_000, "")
    network.chain.mine(1)
    assert (await watcher.poll_once()).refunded == []
    seen = await Refund.get(id=refund.id)
    assert (seen.status, seen.tx_hash) == ("pending", tx)
    assert seen.block_number == network.chain.head.number

    with pytest.raises(RefundRefused) as refused:
        await cancel_refund(seen, actor="test")
    assert refused.value.code == "refund_transfer_seen"
    shop = SHOPS[payment.id]
    api = await client.post(f"/v1/refunds/{refund.id}/cancel", headers=shop.auth())
    body = await api.get_json()
    assert api.status_code == 400 and body["error"]["code"] == "refund_transfer_seen", body
    assert (await Refund.get(id=refund.id)).status == "pending"

    # Waiting for depth: the seen transfer is located, the blocks behind it not searched again.
    network.chain.mine(1)
    before, located = network.blocks_read, network.located
    assert (await watcher.poll_once()).refunded == []
    assert network.blocks_read - before == 1  # the one new block, for the other refunds
    assert network.located - located == 1
    network.chain.mine(1)
    assert (await watcher.poll_once()).refunded == [refund.id]


async def test_a_reorg_that_removes_a_seen_transfer_sends_the_core_looking_again(
    toy_registry: Registry,
) -> None:
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    refund = await refund_to(toy_registry, payment, shopper)
    network.chain.mine(1)
    await watcher.poll_once()

    network.chain.send(payout, shopper, TOY_USD.address, TUSD_2, "")
    network.chain.mine(1)
    await watcher.poll_once()
    assert (await Refund.get(id=refund.id)).tx_hash is not None
    network.chain.reorg(2)  # the transfer's block and the one before it, transfer dropped
    network.chain.mine(1)
    await watcher.poll_once()
    lost = await Refund.get(id=refund.id)
    assert (lost.status, lost.tx_hash, lost.tx_position, lost.block_number) == (
        "pending",
        None,
        None,
        None,
    )
    network.chain.mine(1)
    await watcher.poll_once()
    assert (await Refund.get(id=refund.id)).watch_from_block == network.chain.head.number
    # Sent again, another reorg puts it in a block the core had searched: searched again.
    tx = network.chain.send(payout, shopper, TOY_USD.address, TUSD_2, "")
    network.chain.reorg(2, keep=True)
    network.chain.mine(3)
    assert (await watcher.poll_once()).refunded == [refund.id]
    assert (await Refund.get(id=refund.id)).tx_hash == tx


async def test_plugin_errors_in_refunds_do_not_fail_the_round(
    toy_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    await refund_to(toy_registry, payment, shopper)
    network.chain.mine(1)

    async def buggy(*args: object) -> list[object]:
        raise KeyError("transactions")

    network.find_transfers = buggy  # type: ignore[method-assign,assignment]
    with caplog.at_level(logging.ERROR, logger="kassa.watcher"):
        step = await watcher.poll_once()
    assert not step.retry and not step.halted and step.refunded == []
    errors = [r for r in caplog.records if "refunds not checked" in r.getMessage()]
    assert errors and errors[0].exc_info is not None


async def test_a_transfer_for_a_refund_canceled_meanwhile_is_a_warning(
    toy_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    refund = await refund_to(toy_registry, payment, shopper)
    stale = await Refund.get(id=refund.id)  # what the watcher read before the cancel
    await cancel_refund(refund, actor="test")
    transfer = ChainTransfer(new_address(), 0, 1, "h", payout, shopper, TOY_USD.address, TUSD_2)
    with caplog.at_level(logging.WARNING, logger="kassa.refunds"):
        assert not await _record_seen(network, stale, transfer)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and "canceled" in warned[0].getMessage()
    assert (await Refund.get(id=refund.id)).status == "canceled"


def test_refundable_is_what_reached_the_merchant() -> None:
    """The gateway fee never reached the merchant: deposit money is split in proportion."""
    contract = Payment(amount_base_units=100, fee_base_units=1, amount_final=0, tx_hash="0xt")
    assert refundable_amount(contract) == 100
    deposit = Payment(amount_base_units=100, fee_base_units=1, amount_final=101, tx_hash=None)
    assert refundable_amount(deposit) == 100
    overpaid = Payment(amount_base_units=100, fee_base_units=1, amount_final=202, tx_hash=None)
    assert refundable_amount(overpaid) == 200
    no_fee = Payment(amount_base_units=100, fee_base_units=0, amount_final=107, tx_hash=None)
    assert refundable_amount(no_fee) == 107
    both = Payment(amount_base_units=100, fee_base_units=1, amount_final=101, tx_hash="0xt")
    assert refundable_amount(both) == 200


async def test_a_refund_paid_before_positions_were_recorded_keeps_its_transfer(
    toy_registry: Registry,
) -> None:
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    older = await refund_to(toy_registry, payment, shopper, TUSD_2 // 2)
    newer = await refund_to(toy_registry, payment, shopper, TUSD_2 // 2)
    tx = network.chain.send(payout, shopper, TOY_USD.address, TUSD_2 // 2, "")
    network.chain.mine(3)
    # As an earlier version left it: succeeded with the transaction, no position.
    await Refund.filter(id=older.id).update(status="succeeded", tx_hash=tx, block_number=1)
    assert (await watcher.poll_once()).refunded == []
    assert (await Refund.get(id=newer.id)).tx_hash is None


async def test_a_transfer_sent_before_the_cancel_is_a_warning_once(
    toy_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    network, payment, payout = await paid(toy_registry)
    shopper = new_address()
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    refund = await refund_to(toy_registry, payment, shopper)
    network.chain.send(payout, shopper, TOY_USD.address, TUSD_2, "")
    network.chain.mine(3)
    await cancel_refund(refund, actor="test")  # before the watcher saw the transfer
    with caplog.at_level(logging.WARNING, logger="kassa.refunds"):
        assert (await watcher.poll_once()).refunded == []
        network.chain.mine(1)
        await watcher.poll_once()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "money was sent for a canceled refund" in warned[0]
    after = await Refund.get(id=refund.id)
    assert (after.status, after.tx_hash) == ("canceled", None)
