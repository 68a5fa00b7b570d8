"""Property: whatever the amount, fee, decimals and token kind, the recipient gains exactly
`amount`, the fee recipient exactly `fee`, and the contract keeps nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.evm.contract import NATIVE_TOKEN, deploy_artifact
from tests.contract.harness import Kassa, rpc

TOKEN_KINDS = ("native", "erc20", "usdt")
# anvil refuses contract calls whose `value` nears 2^128 wei with "Insufficient funds for
# gas * price + value" whatever the balance (seen at 2^128 - 1.8e23; plain transfers up to
# 2^128 - 1 pass), so a native payment's amount + fee stays below 2^127. Tokens take the
# whole range; the contract's arithmetic is 256-bit either way.
ANVIL_MAX_VALUE = 2**127 - 1


@st.composite
def payments(draw: st.DrawFn) -> tuple[str, int, int, int]:
    kind = draw(st.sampled_from(TOKEN_KINDS))
    decimals = draw(st.integers(min_value=0, max_value=24))
    amount_cap = ANVIL_MAX_VALUE if kind == "native" else 2**128 - 1
    amount = draw(st.integers(min_value=1, max_value=amount_cap))
    fee_cap = amount if kind != "native" else min(amount, ANVIL_MAX_VALUE - amount)
    fee = draw(st.integers(min_value=0, max_value=fee_cap))
    return kind, decimals, amount, fee


async def token_for(kassa: Kassa, kind: str, decimals: int) -> Any:
    if kind == "usdt":
        return kassa.token("usdt")  # fixed at 6 decimals, like the real one
    address = await deploy_artifact(
        kassa.w3, kassa.roles.owner_key, "TestERC20", "Prop", "PROP", decimals
    )
    return kassa.contract("TestERC20", address)


# Uses the session-scoped deployment; each example snapshots the chain and reverts it.
@settings(max_examples=40, deadline=None)
@given(payment=payments())
async def test_exact_delivery_and_no_balance_left(
    deployed: Kassa, payment: tuple[str, int, int, int]
) -> None:
    kind, decimals, amount, fee = payment
    kassa = deployed
    r = kassa.roles
    snapshot = await rpc(kassa.w3, "evm_snapshot")
    try:
        if kind == "native":
            token_address = NATIVE_TOKEN
            await rpc(kassa.w3, "anvil_setBalance", r.payer, hex(amount + fee + 10**18))
        else:
            token = await token_for(kassa, kind, decimals)
            token_address = token.address
            await kassa.fund_tokens(token, r.payer, amount + fee)
        intent = await kassa.intent(token=token_address, amount=amount, fee=fee)
        merchant_before = await kassa.balance(token_address, r.merchant)
        fee_before = await kassa.balance(token_address, r.fee_recipient)

        await kassa.pay(intent)

        assert await kassa.balance(token_address, r.merchant) - merchant_before == amount
        assert await kassa.balance(token_address, r.fee_recipient) - fee_before == fee
        assert await kassa.balance(NATIVE_TOKEN, kassa.address) == 0
        if token_address != NATIVE_TOKEN:
            assert await kassa.balance(token_address, kassa.address) == 0
            assert await kassa.balance(token_address, r.payer) == 0
    finally:
        assert await rpc(kassa.w3, "evm_revert", snapshot) is True
