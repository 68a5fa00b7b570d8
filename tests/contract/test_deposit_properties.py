"""Property: whatever the amounts, fee rate, decimals and token kind, every sweep leaves the
deposit at zero, payout and fee recipient together gain what arrived (less what a
fee-on-transfer token burns), and the fee is exactly `balance * bps / (10_000 + bps)`."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.evm.contract import NATIVE_TOKEN, deploy_artifact
from plugins.evm.deposits import MAX_FEE_BASIS_POINTS, NO_FEE_RECIPIENT
from tests.contract.deposit_helpers import (
    BalanceWatch,
    address_of,
    make_terms,
    sweep,
    swept_events,
    transfer_to,
)
from tests.contract.harness import Kassa, rpc
from tests.contract.test_properties import ANVIL_MAX_VALUE

TOKEN_KINDS = ("native", "erc20", "usdt", "fot", "reentrant")
# The fee-on-transfer test token computes `value * 100` and would overflow past 2^249; keep
# the other tokens below 2^250 too, with room for the balances the harness already minted.
TOKEN_MAX_AMOUNT = 2**249


@dataclass(frozen=True)
class Case:
    kind: str
    decimals: int
    arrivals: list[int]  # one plain transfer per sweep: the second is a top-up
    fee_basis_points: int
    with_fee_recipient: bool


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(TOKEN_KINDS))
    cap = ANVIL_MAX_VALUE // 2 if kind == "native" else TOKEN_MAX_AMOUNT
    return Case(
        kind=kind,
        decimals=draw(st.integers(min_value=0, max_value=24)),
        arrivals=draw(st.lists(st.integers(min_value=1, max_value=cap), min_size=1, max_size=2)),
        fee_basis_points=draw(st.integers(min_value=0, max_value=MAX_FEE_BASIS_POINTS)),
        with_fee_recipient=draw(st.booleans()),
    )


def burnt(kind: str, amount: int) -> int:
    """What the fee-on-transfer test token burns from a transfer (1%, rounded up)."""
    return -(-amount // 100) if kind == "fot" else 0


async def token_for(kassa: Kassa, case: Case) -> str:
    if case.kind == "native":
        return NATIVE_TOKEN
    if case.kind == "erc20":
        return await deploy_artifact(
            kassa.w3, kassa.roles.owner_key, "TestERC20", "Prop", "PROP", case.decimals
        )
    return str(kassa.token(case.kind).address)


async def arm_reentry(kassa: Kassa, token: str, terms_args: tuple, deposit_tokens: list) -> None:
    """The reentrant token calls `sweep` of the same deposit from inside its next transfer."""
    reentrant = kassa.token("reentrant")
    again = kassa.factory.functions.sweep(*terms_args, deposit_tokens)
    arm = reentrant.functions.arm(kassa.factory.address, again._encode_transaction_data(), 0, False)
    await kassa.transact(arm, kassa.roles.other)


# Uses the session-scoped deployment; each example snapshots the chain and reverts it.
@settings(max_examples=40, deadline=None)
@given(case=cases())
async def test_sweeps_leave_nothing_and_split_exactly(deployed: Kassa, case: Case) -> None:
    kassa = deployed
    r = kassa.roles
    snapshot = await rpc(kassa.w3, "evm_snapshot")
    try:
        token = await token_for(kassa, case)
        listed = [] if token == NATIVE_TOKEN else [token]
        terms = make_terms(
            kassa,
            fee_basis_points=case.fee_basis_points,
            fee_recipient=r.fee_recipient if case.with_fee_recipient else NO_FEE_RECIPIENT,
        )
        deposit = await address_of(kassa, terms)
        if token == NATIVE_TOKEN:
            await rpc(kassa.w3, "anvil_setBalance", r.payer, hex(sum(case.arrivals) + 10**18))

        for amount in case.arrivals:
            await transfer_to(kassa, token, deposit, amount)
            arrived = await kassa.balance(token, deposit)
            assert arrived == amount - burnt(case.kind, amount)
            if case.kind == "reentrant":
                await arm_reentry(kassa, token, terms.as_abi_args(), listed)
            receivers = await BalanceWatch.start(kassa, token)

            receipt = await sweep(kassa, terms, listed)

            to_payout, to_fee = terms.split(arrived)
            if case.with_fee_recipient:
                bps = case.fee_basis_points
                assert to_fee == arrived * bps // (MAX_FEE_BASIS_POINTS + bps)
            else:
                assert to_fee == 0
            # A 1-unit fee-on-transfer payment is burnt whole: nothing arrives, nothing is swept.
            expected = [(token, to_payout, to_fee)] if arrived else []
            events = swept_events(kassa, receipt)
            assert [(e.token, e.to_payout, e.to_fee) for e in events] == expected
            assert await receivers.gains() == [
                to_payout - burnt(case.kind, to_payout),
                to_fee - burnt(case.kind, to_fee),
            ]
            assert await kassa.balance(token, deposit) == 0
            assert await kassa.balance(NATIVE_TOKEN, deposit) == 0
    finally:
        assert await rpc(kassa.w3, "evm_revert", snapshot) is True
