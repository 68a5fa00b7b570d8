"""Every refusal of the deposit-address contracts is its own custom error (decoded by name),
checked at derivation time where it can be, and a failed sweep moves nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3.exceptions import ContractLogicError

from plugins.evm.contract import NATIVE_TOKEN, decode_contract_error, load_artifact, revert_data
from plugins.evm.deposits import (
    DEPOSIT_FACTORY_CONTRACT,
    DEPOSIT_FORWARDER_CONTRACT,
    NO_FEE_RECIPIENT,
    DepositTerms,
    forwarder_implementation,
)
from tests.contract.deposit_helpers import (
    address_of,
    balances,
    make_terms,
    sweep,
    sweep_error,
    swept_events,
    transfer_to,
)
from tests.contract.harness import REVERT_GAS, Kassa, error_name


async def derivation_error(kassa: Kassa, *args: Any) -> str:
    """Revert reason of `depositAddress(*args)` (a view: nothing is mined)."""
    try:
        await kassa.factory.functions.depositAddress(*args).call()
    except ContractLogicError as exc:
        data = revert_data(exc)
        return decode_contract_error(data if data is not None else b"")
    raise AssertionError("expected depositAddress to revert")


async def raw_sweep_error(kassa: Kassa, *args: Any) -> str:
    """Revert reason of `sweep(*args, [])`, for arguments the Python terms would refuse."""
    return await kassa.call_error(kassa.factory.functions.sweep(*args, []), kassa.roles.other)


async def test_fee_above_10000_basis_points(kassa: Kassa) -> None:
    r = kassa.roles
    args = (r.merchant, r.fee_recipient, 10_001, bytes(32))
    assert await derivation_error(kassa, *args) == "FeeTooHigh(feeBasisPoints=10001)"
    assert await raw_sweep_error(kassa, *args) == "FeeTooHigh(feeBasisPoints=10001)"
    # Not truncated to 16 bits either: 65536 + 100 would otherwise read as 100.
    huge = (r.merchant, r.fee_recipient, 2**16 + 100, bytes(32))
    assert error_name(await derivation_error(kassa, *huge)) == "FeeTooHigh"


@pytest.mark.parametrize("which", ["zero", "factory", "implementation"])
async def test_invalid_payout(kassa: Kassa, which: str) -> None:
    payout = {
        "zero": NATIVE_TOKEN,
        "factory": kassa.factory.address,
        "implementation": await forwarder_implementation(kassa.w3, kassa.factory.address),
    }[which]
    args = (payout, kassa.roles.fee_recipient, 100, bytes(32))
    assert await derivation_error(kassa, *args) == f"InvalidPayout(payout={payout})"
    assert await raw_sweep_error(kassa, *args) == f"InvalidPayout(payout={payout})"


@pytest.mark.parametrize("which", ["factory", "implementation"])
async def test_invalid_fee_recipient(kassa: Kassa, which: str) -> None:
    fee_recipient = {
        "factory": kassa.factory.address,
        "implementation": await forwarder_implementation(kassa.w3, kassa.factory.address),
    }[which]
    # Refused even without a fee: the terms must not name an address funds can never leave.
    for bps in (100, 0):
        args = (kassa.roles.merchant, fee_recipient, bps, bytes(32))
        expected = f"InvalidFeeRecipient(feeRecipient={fee_recipient})"
        assert await derivation_error(kassa, *args) == expected
        assert await raw_sweep_error(kassa, *args) == expected


async def test_token_without_code(kassa: Kassa) -> None:
    terms = make_terms(kassa)
    stranger = kassa.roles.stranger
    assert await sweep_error(kassa, terms, [stranger]) == f"InvalidToken(token={stranger})"


async def test_zero_address_in_the_token_list_is_the_native_coin(kassa: Kassa) -> None:
    # Not an error: the native coin, already swept first, so a listed zero moves nothing more.
    terms = make_terms(kassa)
    await transfer_to(kassa, NATIVE_TOKEN, await address_of(kassa, terms), 10**15)
    receipt = await sweep(kassa, terms, [NATIVE_TOKEN])
    assert [(e.token, e.to_payout + e.to_fee) for e in swept_events(kassa, receipt)] == [
        (NATIVE_TOKEN, 10**15)
    ]


async def test_payout_refusing_the_native_coin(kassa: Kassa) -> None:
    terms = make_terms(kassa, fee_basis_points=0, payout=kassa.rejecting_recipient)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 10**15)
    reason = await sweep_error(kassa, terms)
    assert reason == f"NativeTransferFailed(to={kassa.rejecting_recipient}, amount={10**15})"
    assert await kassa.balance(NATIVE_TOKEN, deposit) == 10**15


async def test_fee_recipient_refusing_the_native_coin(kassa: Kassa) -> None:
    terms = make_terms(kassa, fee_basis_points=100, fee_recipient=kassa.rejecting_recipient)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 101)
    merchant_before = await kassa.balance(NATIVE_TOKEN, kassa.roles.merchant)
    reason = await sweep_error(kassa, terms)
    assert reason == f"NativeTransferFailed(to={kassa.rejecting_recipient}, amount=1)"
    assert await kassa.balance(NATIVE_TOKEN, kassa.roles.merchant) == merchant_before


async def test_failing_token_reverts_the_whole_sweep_and_a_retry_without_it_works(
    kassa: Kassa,
) -> None:
    r = kassa.roles
    usdc, bad = kassa.token("usdc").address, kassa.token("reentrant")
    terms = make_terms(kassa, fee_basis_points=100)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, usdc, deposit, 10**6)
    await transfer_to(kassa, bad.address, deposit, 10**6)
    # Armed with bubble=True and a call that fails, the token's transfer reverts.
    await kassa.transact(bad.functions.arm(kassa.rejecting_recipient, b"", 0, True), r.other)
    to_payout, _ = terms.split(10**6)

    reason = await sweep_error(kassa, terms, [usdc, bad.address])

    assert reason == (
        f"TokenTransferFailed(token={bad.address}, to={r.merchant}, amount={to_payout})"
    )
    assert await balances(kassa, usdc, deposit) == [10**6]  # nothing moved
    await sweep(kassa, terms, [usdc])  # the caller retries without the failing token
    assert await balances(kassa, usdc, deposit) == [0]
    assert await balances(kassa, bad.address, deposit) == [10**6]


async def test_reentrant_token_bubbling_the_guard_error_reverts_the_sweep(kassa: Kassa) -> None:
    token = kassa.token("reentrant")
    terms = make_terms(kassa)
    deposit = await address_of(kassa, terms)
    await transfer_to(kassa, token.address, deposit, 5_000)
    again = kassa.factory.functions.sweep(*terms.as_abi_args(), [token.address])
    data = again._encode_transaction_data()
    await kassa.transact(
        token.functions.arm(kassa.factory.address, data, 0, True), kassa.roles.other
    )
    reason = await sweep_error(kassa, terms, [token.address])
    assert error_name(reason) == "TokenTransferFailed"
    assert await kassa.balance(token.address, deposit) == 5_000


async def test_only_the_factory_may_call_forward(kassa: Kassa) -> None:
    r = kassa.roles
    terms = make_terms(kassa)
    deposit = await address_of(kassa, terms)
    await sweep(kassa, terms)  # deploy it
    await transfer_to(kassa, NATIVE_TOKEN, deposit, 10**15)
    implementation = await forwarder_implementation(kassa.w3, kassa.factory.address)
    for target in (deposit, implementation):
        forwarder = kassa.contract(DEPOSIT_FORWARDER_CONTRACT, target)
        reason = await kassa.call_error(forwarder.functions.forward(NATIVE_TOKEN), r.stranger)
        assert reason == f"NotFactory(caller={r.stranger})"
    # A token cannot reach the deposit directly either: the caller would be the token.
    token = kassa.token("reentrant")
    await transfer_to(kassa, token.address, deposit, 100)
    forward = kassa.contract(DEPOSIT_FORWARDER_CONTRACT, deposit).functions.forward(NATIVE_TOKEN)
    await kassa.transact(
        token.functions.arm(deposit, forward._encode_transaction_data(), 0, False), r.other
    )
    await sweep(kassa, terms, [token.address])
    inner = decode_contract_error(await token.functions.reentryRevertData().call())
    assert inner == f"NotFactory(caller={token.address})"


async def test_factory_refuses_the_native_coin(kassa: Kassa) -> None:
    tx = {"from": kassa.roles.payer, "to": kassa.factory.address, "value": 1, "gas": REVERT_GAS}
    assert (await kassa.send(tx))["status"] == 0


def test_no_owner_and_no_admin_function() -> None:
    # The only state-changing entry points: the sweeps (factory) and forward (forwarder, factory
    # only). No owner, no setter, no upgrade: the operator's keys can never redirect deposits.
    def mutating(name: str) -> set[str]:
        abi = load_artifact(name)["abi"]
        return {
            entry.get("name", entry["type"])
            for entry in abi
            if entry["type"] in ("function", "receive", "fallback")
            and entry["stateMutability"] not in ("view", "pure")
        }

    assert mutating(DEPOSIT_FACTORY_CONTRACT) == {"sweep", "sweepMany"}
    assert mutating(DEPOSIT_FORWARDER_CONTRACT) == {"forward", "receive"}


def test_every_custom_error_is_decodable_by_name() -> None:
    for name in (DEPOSIT_FACTORY_CONTRACT, DEPOSIT_FORWARDER_CONTRACT):
        for entry in load_artifact(name)["abi"]:
            if entry["type"] != "error":
                continue
            types = [param["type"] for param in entry["inputs"]]
            data = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
            data += abi_encode(types, [0 if t.startswith("uint") else NATIVE_TOKEN for t in types])
            assert decode_contract_error(data).startswith(entry["name"] + "(")


@pytest.mark.parametrize(
    "changes",
    [
        {"payout": NATIVE_TOKEN},
        {"payout": "0x90f79bf6eb2c4f870365e785982e1f101e93b906"},
        {"fee_recipient": "nope"},
        {"fee_basis_points": 10_001},
        {"fee_basis_points": -1},
        {"fee_basis_points": True},
        {"payment_ref": b"\x01" * 31},
    ],
)
def test_deposit_terms_refuse_what_the_factory_refuses(changes: dict[str, object]) -> None:
    terms = DepositTerms(
        payout="0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        fee_recipient=NO_FEE_RECIPIENT,
        fee_basis_points=0,
        payment_ref=bytes(32),
    )
    with pytest.raises(ValueError):
        replace(terms, **changes)  # type: ignore[arg-type]
