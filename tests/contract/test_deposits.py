"""Deposit addresses: derivation, plain transfers to an undeployed address, sweeps of the native
coin and of weird tokens, top-ups, batches, and who may sweep (anyone; funds only reach the
bound payout address and fee recipient)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account

from plugins.evm.contract import NATIVE_TOKEN, decode_contract_error
from plugins.evm.deposits import (
    NO_FEE_RECIPIENT,
    clone_args,
    compute_deposit_address,
    deploy_deposit_factory,
    deposit_address,
    forwarder_implementation,
)
from tests.contract.deposit_helpers import (
    BalanceWatch,
    address_of,
    code_of,
    deployed_deposits,
    make_terms,
    sweep,
    sweep_many,
    sweep_tx,
    swept_events,
    transfer_to,
)
from tests.contract.harness import Kassa, error_name, rpc

USDC = 10**6


async def test_address_matches_the_offline_computation_and_has_no_code(kassa: Kassa) -> None:
    terms = make_terms(kassa)
    deposit = await address_of(kassa, terms)
    implementation = await forwarder_implementation(kassa.w3, kassa.factory.address)
    assert compute_deposit_address(kassa.factory.address, implementation, terms) == deposit
    assert await code_of(kassa, deposit) == b""
    # The same terms on another factory give another address.
    other_factory = await deploy_deposit_factory(kassa.w3, kassa.roles.owner_key)
    assert await deposit_address(kassa.w3, other_factory, terms) != deposit


async def test_each_parameter_changes_the_address(kassa: Kassa) -> None:
    r = kassa.roles
    base = make_terms(kassa, fee_basis_points=100)
    variants = [
        base,
        replace(base, payout=r.stranger),
        replace(base, fee_recipient=r.stranger),
        replace(base, fee_recipient=NO_FEE_RECIPIENT),
        replace(base, fee_basis_points=101),
        replace(base, fee_basis_points=0),
        replace(base, payment_ref=bytes(32)),
        replace(base, payment_ref=base.payment_ref[:-1] + bytes([base.payment_ref[-1] ^ 1])),
    ]
    addresses = [await address_of(kassa, terms) for terms in variants]
    assert len(set(addresses)) == len(variants)


async def test_native_transfer_then_sweep_splits_the_fee(kassa: Kassa) -> None:
    terms = make_terms(kassa, fee_basis_points=150)
    deposit = await address_of(kassa, terms)
    amount = 10**18 + 15 * 10**15 + 7  # 1 coin + 1.5% fee + dust
    receivers = await BalanceWatch.start(kassa, NATIVE_TOKEN)

    transfer = await transfer_to(kassa, NATIVE_TOKEN, deposit, amount)
    assert transfer["gasUsed"] == 21_000  # a plain transfer: the address has no code yet
    receipt = await sweep(kassa, terms)

    to_payout, to_fee = terms.split(amount)
    assert to_fee == amount * 150 // 10_150 and to_payout + to_fee == amount
    assert await receivers.gains() == [to_payout, to_fee]
    assert await kassa.balance(NATIVE_TOKEN, deposit) == 0
    assert deployed_deposits(kassa, receipt) == [deposit]
    [event] = swept_events(kassa, receipt)
    assert (event.deposit, event.payment_ref, event.token) == (
        deposit,
        terms.payment_ref,
        NATIVE_TOKEN,
    )
    assert (event.to_payout, event.to_fee) == (to_payout, to_fee)
    assert event.factory_address == kassa.factory.address
    assert event.transaction_hash == receipt["transactionHash"].to_0x_hex()
    # The deployed deposit is the clone with the terms in its code, readable by anyone.
    code = await code_of(kassa, deposit)
    assert code[45:] == clone_args(terms)


@pytest.mark.parametrize("name", ["usdc", "usdt"])
async def test_token_transfer_then_sweep_splits_the_fee(kassa: Kassa, name: str) -> None:
    token = kassa.token(name).address
    terms = make_terms(kassa, fee_basis_points=100)
    deposit = await address_of(kassa, terms)
    amount = 2525 * USDC // 100 + 3
    receivers = await BalanceWatch.start(kassa, token)

    await transfer_to(kassa, token, deposit, amount)
    receipt = await sweep(kassa, terms, [token])

    to_payout, to_fee = terms.split(amount)
    assert await receivers.gains() == [to_payout, to_fee]
    assert await kassa.balance(token, deposit) == 0
    [event] = swept_events(kassa, receipt)
    assert (event.token, event.to_payout, event.to_fee) == (token, to_payout, to_fee)


async def test_fee_on_transfer_token_is_swept_to_zero(kassa: Kassa) -> None:
    fot = kassa.token("fot").address
    terms = make_terms(kassa, fee_basis_points=250)
    deposit = await address_of(kassa, terms)
    receivers = await BalanceWatch.start(kassa, fot)

    await transfer_to(kassa, fot, deposit, 10**18)
    arrived = await kassa.balance(fot, deposit)
    assert arrived == 10**18 - 10**16  # the token burnt 1% on the way in
    receipt = await sweep(kassa, terms, [fot])

    # The event reports what left the deposit; each receiver gets 1% less (rounded up).
    to_payout, to_fee = terms.split(arrived)
    [event] = swept_events(kassa, receipt)
    assert (event.to_payout, event.to_fee) == (to_payout, to_fee)
    burnt = [-(-to_payout // 100), -(-to_fee // 100)]
    assert await receivers.gains() == [
        to_payout - burnt[0],
        to_fee - burnt[1],
    ]
    assert await kassa.balance(fot, deposit) == 0


@pytest.mark.parametrize("entry", ["sweep", "sweepMany"])
async def test_reentrant_token_cannot_sweep_twice(kassa: Kassa, entry: str) -> None:
    r = kassa.roles
    token = kassa.token("reentrant")
    terms = make_terms(kassa)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, token.address, deposit, 10_000)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 10**15)
    # From inside its transfer the token calls the factory again for the same deposit.
    reentry = kassa.factory.functions.sweep(*terms.as_abi_args(), [token.address])
    if entry == "sweepMany":
        reentry = kassa.factory.functions.sweepMany([(*terms.as_abi_args(), [token.address])])
    reentry_data = reentry._encode_transaction_data()
    await kassa.transact(
        token.functions.arm(kassa.factory.address, reentry_data, 0, False), r.other
    )
    receivers = await BalanceWatch.start(kassa, token.address)

    receipt = await sweep(kassa, terms, [token.address])

    assert await token.functions.reentryAttempted().call()
    assert not await token.functions.reentrySucceeded().call()
    inner = decode_contract_error(await token.functions.reentryRevertData().call())
    assert error_name(inner) == "ReentrancyGuardReentrantCall"
    assert await receivers.gains() == list(terms.split(10_000))
    assert await kassa.balance(token.address, deposit) == 0
    assert await kassa.balance(NATIVE_TOKEN, deposit) == 0
    assert [e.token for e in swept_events(kassa, receipt)] == [NATIVE_TOKEN, token.address]


async def test_top_up_after_the_first_sweep_is_swept_again(kassa: Kassa) -> None:
    usdc = kassa.token("usdc").address
    terms = make_terms(kassa, fee_basis_points=100)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, usdc, deposit, 10 * USDC)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 10**16)
    await sweep(kassa, terms, [usdc])
    assert await code_of(kassa, deposit) != b""
    native_receivers = await BalanceWatch.start(kassa, NATIVE_TOKEN)
    usdc_receivers = await BalanceWatch.start(kassa, usdc)

    # The deposit has code now: its receive() takes the coin, for a little more than 21,000 gas.
    top_up = await transfer_to(kassa, NATIVE_TOKEN, deposit, 3 * 10**15)
    assert 21_000 < top_up["gasUsed"] < 30_000
    await transfer_to(kassa, usdc, deposit, 5 * USDC)
    receipt = await sweep(kassa, terms, [usdc])

    assert deployed_deposits(kassa, receipt) == []
    assert [(e.token, e.to_payout, e.to_fee) for e in swept_events(kassa, receipt)] == [
        (NATIVE_TOKEN, *terms.split(3 * 10**15)),
        (usdc, *terms.split(5 * USDC)),
    ]
    assert await native_receivers.gains() == list(terms.split(3 * 10**15))
    assert await usdc_receivers.gains() == list(terms.split(5 * USDC))
    assert await kassa.balance(NATIVE_TOKEN, deposit) == 0
    assert await kassa.balance(usdc, deposit) == 0


async def test_a_token_the_session_did_not_ask_for_is_swept_too(kassa: Kassa) -> None:
    # The terms name no token: whatever arrives is swept when listed, here USDC and USDT both.
    r = kassa.roles
    usdc, usdt = kassa.token("usdc").address, kassa.token("usdt").address
    terms = make_terms(kassa, fee_basis_points=0)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, usdc, deposit, 7 * USDC)
    await transfer_to(kassa, usdt, deposit, 3 * USDC)
    merchant = [await BalanceWatch.start(kassa, token, r.merchant) for token in (usdc, usdt)]

    receipt = await sweep(kassa, terms, [usdc, usdt, usdc])  # a repeated token is a no-op

    assert [await watch.gains() for watch in merchant] == [[7 * USDC], [3 * USDC]]
    assert [(e.token, e.to_fee) for e in swept_events(kassa, receipt)] == [(usdc, 0), (usdt, 0)]


@pytest.mark.parametrize("no_fee", ["zero_bps", "no_fee_recipient"])
async def test_no_fee_sends_everything_to_the_payout(kassa: Kassa, no_fee: str) -> None:
    if no_fee == "zero_bps":
        terms = make_terms(kassa, fee_basis_points=0)
    else:
        terms = make_terms(kassa, fee_basis_points=500, fee_recipient=NO_FEE_RECIPIENT)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 10**17)
    receivers = await BalanceWatch.start(kassa, NATIVE_TOKEN)

    receipt = await sweep(kassa, terms)

    assert await receivers.gains() == [10**17, 0]
    assert [(e.to_payout, e.to_fee) for e in swept_events(kassa, receipt)] == [(10**17, 0)]


async def test_largest_fee_is_half_of_what_arrived(kassa: Kassa) -> None:
    terms = make_terms(kassa, fee_basis_points=10_000)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 2 * 10**15 + 1)
    [event] = swept_events(kassa, await sweep(kassa, terms))
    assert (event.to_payout, event.to_fee) == (10**15 + 1, 10**15)


async def test_sweeping_an_empty_deposit_deploys_it_and_moves_nothing(kassa: Kassa) -> None:
    usdc = kassa.token("usdc").address
    terms = make_terms(kassa)
    deposit = await address_of(kassa, terms)
    receipt = await sweep(kassa, terms, [usdc])
    assert deployed_deposits(kassa, receipt) == [deposit]
    assert swept_events(kassa, receipt) == []
    receipt = await sweep(kassa, terms, [usdc])  # and again: a no-op
    assert receipt["logs"] == []


async def test_sweep_many_sweeps_several_deposits_in_one_transaction(kassa: Kassa) -> None:
    r = kassa.roles
    usdc = kassa.token("usdc").address
    batch = [
        (make_terms(kassa, fee_basis_points=100), NATIVE_TOKEN, 10**16),
        (make_terms(kassa, fee_basis_points=0, payout=r.stranger), usdc, 4 * USDC),
        (make_terms(kassa, fee_basis_points=250), usdc, 9 * USDC + 1),
    ]
    deposits = [await address_of(kassa, terms) for terms, _, _ in batch]
    for deposit, (_, token, amount) in zip(deposits, batch, strict=True):
        await transfer_to(kassa, token, deposit, amount)
    await sweep(kassa, batch[2][0], [usdc])  # one of them is already deployed (and empty)
    await transfer_to(kassa, usdc, deposits[2], 9 * USDC + 1)
    fee_recipient = await BalanceWatch.start(kassa, usdc, r.fee_recipient)

    receipt = await sweep_many(kassa, [(terms, [usdc]) for terms, _, _ in batch])

    assert deployed_deposits(kassa, receipt) == deposits[:2]
    events = swept_events(kassa, receipt)
    assert [(e.deposit, e.payment_ref, e.token, e.to_payout, e.to_fee) for e in events] == [
        (deposit, terms.payment_ref, token, *terms.split(amount))
        for deposit, (terms, token, amount) in zip(deposits, batch, strict=True)
    ]
    for deposit, (_, token, _) in zip(deposits, batch, strict=True):
        assert await kassa.balance(token, deposit) == 0
    assert await fee_recipient.gains() == [batch[2][0].split(9 * USDC + 1)[1]]


async def test_anyone_can_sweep_and_funds_only_reach_payout_and_fee_recipient(
    kassa: Kassa,
) -> None:
    usdc = kassa.token("usdc").address
    terms = make_terms(kassa, fee_basis_points=300)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 10**17)
    await transfer_to(kassa, usdc, deposit, 50 * USDC)
    # A fresh account nobody knows, signing its own transaction.
    sweeper = Account.create()
    await rpc(kassa.w3, "anvil_setBalance", sweeper.address, hex(10**18))
    receivers = {token: await BalanceWatch.start(kassa, token) for token in (NATIVE_TOKEN, usdc)}

    tx = sweep_tx(kassa, terms, [usdc], sender=sweeper.address)
    tx |= {
        "nonce": 0,
        "gas": 500_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
        "chainId": kassa.chain_id,
    }
    signed = sweeper.sign_transaction(tx)
    tx_hash = await kassa.w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = await kassa.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1

    for token, amount in ((NATIVE_TOKEN, 10**17), (usdc, 50 * USDC)):
        assert await receivers[token].gains() == list(terms.split(amount))
        assert await kassa.balance(token, deposit) == 0
    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert await kassa.balance(NATIVE_TOKEN, sweeper.address) == 10**18 - gas_paid
    assert await kassa.balance(usdc, sweeper.address) == 0


async def test_merchant_sweeps_with_their_own_key(kassa: Kassa) -> None:
    # "If the operator vanishes": the merchant sends the sweep with the payment's parameters.
    r = kassa.roles
    terms = make_terms(kassa, fee_basis_points=100)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 10**18)
    receivers = await BalanceWatch.start(kassa, NATIVE_TOKEN)

    call = kassa.factory.functions.sweep(*terms.as_abi_args(), [])
    receipt = await kassa.transact(call, r.merchant)

    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    to_payout, to_fee = terms.split(10**18)
    assert await receivers.gains() == [to_payout - gas_paid, to_fee]
    assert await kassa.balance(NATIVE_TOKEN, deposit) == 0
