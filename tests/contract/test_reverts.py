"""Every refused payment reverts with its own custom error (decoded by name)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from plugins.evm.anvil import AnvilNode
from plugins.evm.contract import NATIVE_TOKEN, deploy_checkout_contract, sign_intent
from tests.contract.harness import Kassa, deploy_kassa, error_name, start_anvil

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture(scope="module")
def other_chain() -> Iterator[AnvilNode]:
    """A second anvil with another chain id."""
    node = start_anvil(chain_id=31338)
    yield node
    node.stop()


async def test_wrong_signer(kassa: Kassa) -> None:
    intent = await kassa.intent()
    not_a_signer = kassa.roles.keys[5]
    reason = await kassa.pay_error(intent, signature=kassa.sign(intent, key=not_a_signer))
    assert reason == f"UnauthorizedSigner(recovered={kassa.roles.stranger})"


async def test_removed_signer(kassa: Kassa) -> None:
    await kassa.transact(
        kassa.checkout.functions.removeSigner(kassa.roles.signer), kassa.roles.owner
    )
    assert error_name(await kassa.pay_error(await kassa.intent())) == "UnauthorizedSigner"


async def test_signature_for_another_chain_id(kassa: Kassa, other_chain: AnvilNode) -> None:
    w3 = AsyncWeb3(AsyncHTTPProvider(other_chain.rpc_url))
    try:
        other = await deploy_kassa(w3, other_chain)
        # Same deployer, same nonce: the very same contract address on both chains, so only
        # the chain id in the EIP-712 domain tells the two signatures apart.
        assert other.address == kassa.address
        assert await w3.eth.chain_id != await kassa.w3.eth.chain_id

        intent = await other.intent(session=424242)
        signed_for_kassa_chain = kassa.sign(intent)
        reason = await other.pay_error(intent, signature=signed_for_kassa_chain)
        assert error_name(reason) == "UnauthorizedSigner"
        # ... and the other chain's own signature of the same intent is fine there.
        await other.pay(intent, signature=other.sign(intent))
    finally:
        await w3.provider.disconnect()


async def test_signature_for_another_deployment(kassa: Kassa) -> None:
    r = kassa.roles
    second = await deploy_checkout_contract(
        kassa.w3, r.owner_key, r.owner, [r.signer], r.fee_recipient
    )
    intent = await kassa.intent()
    signature = sign_intent(intent, kassa.chain_id, second, r.signer_key)
    assert error_name(await kassa.pay_error(intent, signature=signature)) == "UnauthorizedSigner"


async def test_expired_deadline(kassa: Kassa) -> None:
    intent = await kassa.intent(deadline=await kassa.now() - 1)
    reason = await kassa.pay_error(intent)
    assert error_name(reason) == "IntentExpired"
    assert f"deadline={intent.deadline}" in reason


@pytest.mark.parametrize("delta", [-1, +1], ids=["one-wei-low", "one-wei-high"])
async def test_native_value_must_be_exact(kassa: Kassa, delta: int) -> None:
    intent = await kassa.intent(amount=10**18, fee=10**16)
    value = intent.amount + intent.fee + delta
    reason = await kassa.pay_error(intent, value=value)
    assert (
        reason == f"IncorrectNativeValue(amount={intent.amount}, fee={intent.fee}, value={value})"
    )


async def test_native_value_below_the_fee(kassa: Kassa) -> None:
    intent = await kassa.intent(amount=10, fee=10**16)
    assert error_name(await kassa.pay_error(intent, value=5)) == "IncorrectNativeValue"


async def test_huge_amount_plus_fee_cannot_wrap_around(kassa: Kassa) -> None:
    # amount + fee = 2**256 + 1: a wrapping sum would accept msg.value == 1.
    intent = await kassa.intent(amount=2**256 - 1, fee=2)
    assert error_name(await kassa.pay_error(intent, value=1)) == "IncorrectNativeValue"


async def test_native_value_with_a_token_intent(kassa: Kassa) -> None:
    usdc = kassa.token("usdc")
    intent = await kassa.intent(token=usdc.address, amount=10**6)
    await kassa.fund_tokens(usdc, kassa.roles.payer, intent.amount)
    reason = await kassa.pay_error(intent, value=1)
    assert reason == "NativeValueWithTokenIntent(value=1)"


async def test_second_payment_of_a_session(kassa: Kassa) -> None:
    intent = await kassa.intent()
    await kassa.pay(intent)
    assert error_name(await kassa.pay_error(intent)) == "SessionAlreadyPaid"


async def test_second_payment_of_a_session_with_another_payment_ref(kassa: Kassa) -> None:
    intent = await kassa.intent()
    await kassa.pay(intent)
    retry = replace(intent, payment_ref=b"\x42" * 32, amount=intent.amount + 1)
    assert error_name(await kassa.pay_error(retry)) == "SessionAlreadyPaid"


async def test_paused(kassa: Kassa) -> None:
    await kassa.transact(kassa.checkout.functions.pause(), kassa.roles.owner)
    intent = await kassa.intent()
    assert await kassa.pay_error(intent) == "EnforcedPause()"
    await kassa.transact(kassa.checkout.functions.unpause(), kassa.roles.owner)
    await kassa.pay(intent)


async def test_zero_amount(kassa: Kassa) -> None:
    intent = await kassa.intent(amount=0, fee=5)
    assert await kassa.pay_error(intent, value=5) == "ZeroAmount()"


@pytest.mark.parametrize("which", ["zero", "checkout"])
async def test_invalid_recipient(kassa: Kassa, which: str) -> None:
    recipient = NATIVE_TOKEN if which == "zero" else kassa.address
    intent = await kassa.intent(recipient=recipient)
    assert error_name(await kassa.pay_error(intent)) == "InvalidRecipient"


async def test_fee_without_fee_recipient(kassa: Kassa) -> None:
    set_fee = kassa.checkout.functions.setFeeRecipient(NATIVE_TOKEN)
    await kassa.transact(set_fee, kassa.roles.owner)
    intent = await kassa.intent(fee=1)
    assert await kassa.pay_error(intent) == "FeeRecipientNotSet()"
    await kassa.pay(await kassa.intent(fee=0))  # fee-less payments still work


async def test_token_that_is_not_a_contract(kassa: Kassa) -> None:
    intent = await kassa.intent(token=kassa.roles.stranger, amount=1)
    reason = await kassa.pay_error(intent)
    assert reason == f"InvalidToken(token={kassa.roles.stranger})"


async def test_missing_allowance_bubbles_the_token_error(kassa: Kassa) -> None:
    usdc = kassa.token("usdc")
    intent = await kassa.intent(token=usdc.address, amount=10**6)
    await kassa.transact(usdc.functions.mint(kassa.roles.payer, intent.amount), kassa.roles.payer)
    reason = await kassa.pay_error(intent)
    assert error_name(reason) == "ERC20InsufficientAllowance"


async def test_malleable_signature(kassa: Kassa) -> None:
    intent = await kassa.intent()
    signature = kassa.sign(intent)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    # (r, n - s, v ^ 1) recovers the same signer: the classic malleable twin.
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    assert error_name(await kassa.pay_error(intent, signature=twin)) == "ECDSAInvalidSignatureS"


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        (bytes(65), "ECDSAInvalidSignature"),
        (bytes(64), "ECDSAInvalidSignatureLength"),
        (b"", "ECDSAInvalidSignatureLength"),
    ],
    ids=["all-zero", "64-bytes", "empty"],
)
async def test_zero_or_malformed_signature(kassa: Kassa, signature: bytes, expected: str) -> None:
    intent = await kassa.intent()
    assert error_name(await kassa.pay_error(intent, signature=signature)) == expected


async def test_signature_with_invalid_v(kassa: Kassa) -> None:
    intent = await kassa.intent()
    signature = kassa.sign(intent)
    bad_v = signature[:64] + bytes([signature[64] + 2])
    assert error_name(await kassa.pay_error(intent, signature=bad_v)) == "ECDSAInvalidSignature"


async def test_tampered_intent(kassa: Kassa) -> None:
    intent = await kassa.intent(amount=10**18)
    signature = kassa.sign(intent)
    cheaper = replace(intent, amount=intent.amount - 1)
    reason = await kassa.pay_error(cheaper, signature=signature)
    assert error_name(reason) == "UnauthorizedSigner"
