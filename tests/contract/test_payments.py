"""Successful payments and the token/recipient behaviours that must make a payment revert."""

from __future__ import annotations

from plugins.evm.contract import (
    NATIVE_TOKEN,
    PAYMENT_RECEIVED_TOPIC,
    decode_contract_error,
    decode_payment_received,
    encode_pay_call,
)
from tests.contract.harness import Kassa, error_name, rpc

USDC = 10**6  # the USDC-like and USDT-like tokens have 6 decimals


def payment_logs(kassa: Kassa, receipt: dict) -> list:
    return [
        decode_payment_received(log)
        for log in receipt["logs"]
        if log["address"] == kassa.address
        and log["topics"][0].to_0x_hex() == PAYMENT_RECEIVED_TOPIC
    ]


async def test_native_payment_delivers_exact_amount_and_fee(kassa: Kassa) -> None:
    r = kassa.roles
    intent = await kassa.intent(amount=3 * 10**17 + 7, fee=10**15 + 3)
    before = {who: await kassa.balance(NATIVE_TOKEN, who) for who in (r.merchant, r.fee_recipient)}
    payer_before = await kassa.balance(NATIVE_TOKEN, r.payer)

    receipt = await kassa.pay(intent)

    assert await kassa.balance(NATIVE_TOKEN, r.merchant) - before[r.merchant] == intent.amount
    fee_gain = await kassa.balance(NATIVE_TOKEN, r.fee_recipient) - before[r.fee_recipient]
    assert fee_gain == intent.fee
    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    spent = payer_before - await kassa.balance(NATIVE_TOKEN, r.payer)
    assert spent == intent.amount + intent.fee + gas_paid
    assert await kassa.balance(NATIVE_TOKEN, kassa.address) == 0
    assert await kassa.checkout.functions.isSessionPaid(intent.session_ref).call()

    [event] = payment_logs(kassa, receipt)
    assert event.session_ref == intent.session_ref
    assert event.payment_ref == intent.payment_ref
    assert event.payer == r.payer
    assert event.token == NATIVE_TOKEN
    assert event.amount == intent.amount
    assert event.recipient == r.merchant
    assert event.fee == intent.fee
    assert event.contract_address == kassa.address
    assert event.transaction_hash == receipt["transactionHash"].to_0x_hex()
    assert event.block_number == receipt["blockNumber"]
    assert event.log_index is not None


async def test_usdc_like_payment_delivers_exact_amount_and_fee(kassa: Kassa) -> None:
    r = kassa.roles
    usdc = kassa.token("usdc")
    assert await usdc.functions.decimals().call() == 6
    intent = await kassa.intent(token=usdc.address, amount=1234 * USDC + 56, fee=USDC // 100)
    await kassa.fund_tokens(usdc, r.payer, intent.amount + intent.fee)
    merchant_before = await kassa.balance(usdc.address, r.merchant)
    fee_before = await kassa.balance(usdc.address, r.fee_recipient)

    receipt = await kassa.pay(intent)

    assert await kassa.balance(usdc.address, r.merchant) - merchant_before == intent.amount
    assert await kassa.balance(usdc.address, r.fee_recipient) - fee_before == intent.fee
    assert await kassa.balance(usdc.address, r.payer) == 0
    assert await kassa.balance(usdc.address, kassa.address) == 0
    assert await kassa.balance(NATIVE_TOKEN, kassa.address) == 0
    assert await usdc.functions.allowance(r.payer, kassa.address).call() == 0
    [event] = payment_logs(kassa, receipt)
    assert (event.token, event.amount, event.fee, event.recipient, event.payer) == (
        usdc.address,
        intent.amount,
        intent.fee,
        r.merchant,
        r.payer,
    )


async def test_zero_fee_skips_the_fee_transfer(kassa: Kassa) -> None:
    usdc = kassa.token("usdc")
    intent = await kassa.intent(token=usdc.address, amount=5 * USDC, fee=0)
    await kassa.fund_tokens(usdc, kassa.roles.payer, intent.amount)
    fee_before = await kassa.balance(usdc.address, kassa.roles.fee_recipient)

    receipt = await kassa.pay(intent)

    transfers = [log for log in receipt["logs"] if log["address"] == usdc.address]
    assert len(transfers) == 1  # payer -> merchant only: no fee Transfer
    assert await kassa.balance(usdc.address, kassa.roles.fee_recipient) == fee_before
    [event] = payment_logs(kassa, receipt)
    assert event.fee == 0


async def test_usdt_like_token_without_return_values_succeeds(kassa: Kassa) -> None:
    r = kassa.roles
    usdt = kassa.token("usdt")
    intent = await kassa.intent(token=usdt.address, amount=99 * USDC, fee=USDC)
    await kassa.fund_tokens(usdt, r.payer, intent.amount + intent.fee)
    merchant_before = await kassa.balance(usdt.address, r.merchant)

    receipt = await kassa.pay(intent)

    assert await kassa.balance(usdt.address, r.merchant) - merchant_before == intent.amount
    assert await kassa.balance(usdt.address, kassa.address) == 0
    assert payment_logs(kassa, receipt)[0].amount == intent.amount


async def test_fee_on_transfer_token_reverts(kassa: Kassa) -> None:
    fot = kassa.token("fot")
    intent = await kassa.intent(token=fot.address, amount=10**18, fee=0)
    await kassa.fund_tokens(fot, kassa.roles.payer, intent.amount)
    merchant_before = await kassa.balance(fot.address, kassa.roles.merchant)

    reason = await kassa.pay_error(intent)

    assert error_name(reason) == "TokenAmountMismatch"
    assert f"expected={intent.amount}" in reason
    assert f"received={intent.amount - intent.amount // 100}" in reason
    assert await kassa.balance(fot.address, kassa.roles.merchant) == merchant_before
    assert not await kassa.checkout.functions.isSessionPaid(intent.session_ref).call()


async def test_reentrant_token_cannot_pay_twice_or_move_funds(kassa: Kassa) -> None:
    r = kassa.roles
    token = kassa.token("reentrant")
    outer = await kassa.intent(token=token.address, amount=1000, fee=10)
    inner = await kassa.intent(token=token.address, amount=1000, fee=10)
    await kassa.fund_tokens(token, r.payer, 10**6)
    # The token re-enters `pay` from inside its transferFrom, once with a fresh signed intent
    # (a second payment) - the call the guard must refuse.
    inner_tx = encode_pay_call(inner, kassa.sign(inner), kassa.address)
    await kassa.transact(token.functions.arm(kassa.address, inner_tx["data"], 0, False), r.stranger)
    merchant_before = await kassa.balance(token.address, r.merchant)

    receipt = await kassa.pay(outer)

    assert await token.functions.reentryAttempted().call()
    assert not await token.functions.reentrySucceeded().call()
    inner_error = decode_contract_error(await token.functions.reentryRevertData().call())
    assert error_name(inner_error) == "ReentrancyGuardReentrantCall"
    assert [e.session_ref for e in payment_logs(kassa, receipt)] == [outer.session_ref]
    assert await kassa.balance(token.address, r.merchant) - merchant_before == outer.amount
    assert await kassa.balance(token.address, kassa.address) == 0
    assert not await kassa.checkout.functions.isSessionPaid(inner.session_ref).call()


async def test_reentrant_token_replaying_the_same_intent_reverts_everything(kassa: Kassa) -> None:
    r = kassa.roles
    token = kassa.token("reentrant")
    intent = await kassa.intent(token=token.address, amount=1000, fee=0)
    await kassa.fund_tokens(token, r.payer, 10**6)
    tx = encode_pay_call(intent, kassa.sign(intent), kassa.address)
    # bubble=True: the token reverts with the inner call's error, so the payment fails whole.
    await kassa.transact(token.functions.arm(kassa.address, tx["data"], 0, True), r.stranger)
    merchant_before = await kassa.balance(token.address, r.merchant)

    assert error_name(await kassa.pay_error(intent)) == "ReentrancyGuardReentrantCall"

    assert await kassa.balance(token.address, r.merchant) == merchant_before
    assert not await kassa.checkout.functions.isSessionPaid(intent.session_ref).call()


async def test_recipient_rejecting_native_coin_reverts_cleanly(kassa: Kassa) -> None:
    intent = await kassa.intent(amount=10**16, fee=10**14, recipient=kassa.rejecting_recipient)
    fee_before = await kassa.balance(NATIVE_TOKEN, kassa.roles.fee_recipient)

    reason = await kassa.pay_error(intent)

    assert reason == (
        f"NativeTransferFailed(to={kassa.rejecting_recipient}, amount={intent.amount})"
    )
    assert await kassa.balance(NATIVE_TOKEN, kassa.rejecting_recipient) == 0
    assert await kassa.balance(NATIVE_TOKEN, kassa.roles.fee_recipient) == fee_before
    assert await kassa.balance(NATIVE_TOKEN, kassa.address) == 0
    assert not await kassa.checkout.functions.isSessionPaid(intent.session_ref).call()


async def test_fee_recipient_rejecting_native_coin_reverts_cleanly(kassa: Kassa) -> None:
    set_fee = kassa.checkout.functions.setFeeRecipient(kassa.rejecting_recipient)
    await kassa.transact(set_fee, kassa.roles.owner)
    intent = await kassa.intent(amount=10**16, fee=10**14)
    assert error_name(await kassa.pay_error(intent)) == "NativeTransferFailed"


async def test_deadline_is_inclusive(kassa: Kassa) -> None:
    deadline = await kassa.now() + 100
    intent = await kassa.intent(deadline=deadline)
    await rpc(kassa.w3, "evm_setNextBlockTimestamp", deadline)
    receipt = await kassa.pay(intent)
    block = await kassa.w3.eth.get_block(receipt["blockNumber"])
    assert block["timestamp"] == deadline


async def test_session_flags_are_packed_256_per_word(kassa: Kassa) -> None:
    bitmap = kassa.checkout.functions.sessionBitmap
    for session in (256 * 7, 256 * 7 + 1, 256 * 7 + 255, 256 * 8):
        await kassa.pay(await kassa.intent(session=session, amount=1))
    assert await bitmap(7).call() == (1 << 0) | (1 << 1) | (1 << 255)
    assert await bitmap(8).call() == 1
    # Any bytes32 works as a session ref; sequential ones are only cheaper.
    random_ref = bytes.fromhex("ab" * 32)
    intent = await kassa.intent(amount=1)
    intent = type(intent)(**{**intent.__dict__, "session_ref": random_ref})
    await kassa.pay(intent)
    assert await kassa.checkout.functions.isSessionPaid(random_ref).call()
    assert await bitmap(int.from_bytes(random_ref, "big") >> 8).call() == 1 << 0xAB


async def test_same_session_pays_only_once_whatever_the_payer(kassa: Kassa) -> None:
    intent = await kassa.intent(amount=10**15)
    await kassa.pay(intent)
    reason = await kassa.pay_error(intent, payer=kassa.roles.stranger)
    assert reason == f"SessionAlreadyPaid(sessionRef=0x{intent.session_ref.hex()})"
