"""Owner-only administration: access control, two-step ownership, signers, fees, rescue."""

from __future__ import annotations

from typing import Any

import pytest
from web3.exceptions import ContractLogicError

from plugins.evm.contract import (
    NATIVE_TOKEN,
    checkout_abi,
    decode_contract_error,
    deploy_checkout_contract,
    revert_data,
)
from tests.contract.harness import REVERT_GAS, Kassa, contract_at, error_name, rpc


def owner_calls(kassa: Kassa) -> dict[str, Any]:
    f = kassa.checkout.functions
    r = kassa.roles
    return {
        "pause": f.pause(),
        "unpause": f.unpause(),
        "addSigner": f.addSigner(r.other),
        "removeSigner": f.removeSigner(r.signer),
        "setFeeRecipient": f.setFeeRecipient(r.other),
        "rescue": f.rescue(NATIVE_TOKEN, r.other, 0),
        "transferOwnership": f.transferOwnership(r.other),
        "renounceOwnership": f.renounceOwnership(),
    }


@pytest.mark.parametrize(
    "name",
    [
        "pause",
        "unpause",
        "addSigner",
        "removeSigner",
        "setFeeRecipient",
        "rescue",
        "transferOwnership",
        "renounceOwnership",
    ],
)
async def test_owner_functions_revert_for_others(kassa: Kassa, name: str) -> None:
    call = owner_calls(kassa)[name]
    for outsider in (kassa.roles.stranger, kassa.roles.signer):
        reason = await kassa.call_error(call, outsider)
        assert reason == f"OwnableUnauthorizedAccount(account={outsider})"


async def test_ownership_transfer_is_two_step(kassa: Kassa) -> None:
    f = kassa.checkout.functions
    r = kassa.roles
    await kassa.transact(f.transferOwnership(r.other), r.owner)
    # Nothing changes until the new owner accepts.
    assert await f.owner().call() == r.owner
    assert await f.pendingOwner().call() == r.other
    await kassa.transact(f.pause(), r.owner)
    assert error_name(await kassa.call_error(f.unpause(), r.other)) == "OwnableUnauthorizedAccount"
    reason = await kassa.call_error(f.acceptOwnership(), r.stranger)
    assert reason == f"OwnableUnauthorizedAccount(account={r.stranger})"

    await kassa.transact(f.acceptOwnership(), r.other)

    assert await f.owner().call() == r.other
    assert await f.pendingOwner().call() == NATIVE_TOKEN
    assert error_name(await kassa.call_error(f.unpause(), r.owner)) == "OwnableUnauthorizedAccount"
    await kassa.transact(f.unpause(), r.other)


async def test_pause_and_unpause(kassa: Kassa) -> None:
    f = kassa.checkout.functions
    owner = kassa.roles.owner
    assert await kassa.call_error(f.unpause(), owner) == "ExpectedPause()"
    await kassa.transact(f.pause(), owner)
    assert await f.paused().call()
    assert await kassa.call_error(f.pause(), owner) == "EnforcedPause()"
    await kassa.transact(f.unpause(), owner)
    assert not await f.paused().call()


async def test_signer_management(kassa: Kassa) -> None:
    f = kassa.checkout.functions
    r = kassa.roles
    new_signer_key = r.keys[6]
    intent = await kassa.intent()
    signature = kassa.sign(intent, key=new_signer_key)
    assert error_name(await kassa.pay_error(intent, signature=signature)) == "UnauthorizedSigner"

    receipt = await kassa.transact(f.addSigner(r.other), r.owner)
    [added] = kassa.checkout.events.SignerAdded().process_receipt(receipt)
    assert added["args"]["signer"] == r.other
    assert await f.isSigner(r.other).call()
    await kassa.pay(intent, signature=signature)

    assert await kassa.call_error(f.addSigner(r.other), r.owner) == (
        f"SignerAlreadyAdded(signer={r.other})"
    )
    assert await kassa.call_error(f.addSigner(NATIVE_TOKEN), r.owner) == (
        f"InvalidSigner(signer={NATIVE_TOKEN})"
    )
    receipt = await kassa.transact(f.removeSigner(r.other), r.owner)
    assert kassa.checkout.events.SignerRemoved().process_receipt(receipt)[0]["args"]["signer"] == (
        r.other
    )
    assert not await f.isSigner(r.other).call()
    assert await kassa.call_error(f.removeSigner(r.other), r.owner) == (
        f"SignerNotFound(signer={r.other})"
    )


async def test_fee_recipient_management(kassa: Kassa) -> None:
    f = kassa.checkout.functions
    r = kassa.roles
    assert await f.feeRecipient().call() == r.fee_recipient
    receipt = await kassa.transact(f.setFeeRecipient(r.other), r.owner)
    [changed] = kassa.checkout.events.FeeRecipientChanged().process_receipt(receipt)
    assert changed["args"]["previousFeeRecipient"] == r.fee_recipient
    assert changed["args"]["newFeeRecipient"] == r.other

    other_before = await kassa.balance(NATIVE_TOKEN, r.other)
    await kassa.pay(await kassa.intent(amount=10**15, fee=12345))
    assert await kassa.balance(NATIVE_TOKEN, r.other) - other_before == 12345

    assert await kassa.call_error(f.setFeeRecipient(kassa.address), r.owner) == (
        f"InvalidFeeRecipient(feeRecipient={kassa.address})"
    )


async def test_rescue_native_coin_forced_into_the_contract(kassa: Kassa) -> None:
    r = kassa.roles
    # The contract has no receive/fallback, so a plain transfer reverts (with no reason) ...
    assert not [e for e in checkout_abi() if e["type"] in ("receive", "fallback")]
    send = {"from": r.stranger, "to": kassa.address, "value": 1, "gas": REVERT_GAS}
    assert (await kassa.send(send))["status"] == 0
    # ... but selfdestruct or a block reward can still credit it; anvil_setBalance stands in.
    await rpc(kassa.w3, "anvil_setBalance", kassa.address, hex(10**18))
    f = kassa.checkout.functions
    assert await kassa.call_error(f.rescue(NATIVE_TOKEN, NATIVE_TOKEN, 1), r.owner) == (
        f"InvalidRecipient(recipient={NATIVE_TOKEN})"
    )
    other_before = await kassa.balance(NATIVE_TOKEN, r.other)

    receipt = await kassa.transact(f.rescue(NATIVE_TOKEN, r.other, 10**18), r.owner)

    assert await kassa.balance(NATIVE_TOKEN, kassa.address) == 0
    assert await kassa.balance(NATIVE_TOKEN, r.other) - other_before == 10**18
    [rescued] = kassa.checkout.events.Rescued().process_receipt(receipt)
    assert rescued["args"]["amount"] == 10**18


async def test_rescue_tokens_transferred_by_mistake(kassa: Kassa) -> None:
    r = kassa.roles
    for name in ("usdc", "usdt"):  # with and without return values
        token = kassa.token(name)
        await kassa.transact(token.functions.mint(r.stranger, 500), r.stranger)
        await kassa.transact(token.functions.transfer(kassa.address, 500), r.stranger)
        assert await kassa.balance(token.address, kassa.address) == 500

        rescue = kassa.checkout.functions.rescue(token.address, r.stranger, 500)
        await kassa.transact(rescue, r.owner)

        assert await kassa.balance(token.address, kassa.address) == 0
        assert await kassa.balance(token.address, r.stranger) == 500


async def test_constructor_rejects_a_zero_owner(kassa: Kassa) -> None:
    r = kassa.roles
    with pytest.raises(ContractLogicError) as raised:
        await deploy_checkout_contract(kassa.w3, r.owner_key, NATIVE_TOKEN, [r.signer], None)
    data = revert_data(raised.value)
    assert data is not None
    assert decode_contract_error(data) == f"OwnableInvalidOwner(owner={NATIVE_TOKEN})"


async def test_deploy_without_fee_recipient_disables_fees(kassa: Kassa) -> None:
    r = kassa.roles
    address = await deploy_checkout_contract(kassa.w3, r.owner_key, r.owner, [r.signer], None)
    contract = contract_at(kassa.w3, address)
    assert await contract.functions.feeRecipient().call() == NATIVE_TOKEN
    assert await contract.functions.owner().call() == r.owner
    assert await contract.functions.isSigner(r.signer).call()
    with pytest.raises(ValueError, match="at least one intent signer"):
        await deploy_checkout_contract(kassa.w3, r.owner_key, r.owner, [], None)
