"""What an EVM network checks of itself for `kassa doctor`, `kassa networks list` and
`GET /v1/networks` (`Network.health()`).

Every RPC URL is asked for its chain id on its own; the other checks ask the first URL that
answered on the right chain, directly rather than through the failover pool, so a health probe
never moves the watcher to another node. Each check is bounded by the network's RPC timeout.
URLs may carry API keys: nodes are named by position (`rpc #1` is `rpc_urls[0]`) and errors by
their type, never by a message that could quote the URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from web3 import AsyncWeb3

from app.money import base_units_to_decimal
from app.networks import HealthCheck
from plugins.evm.contract import checkout_abi, is_runtime_code_of
from plugins.evm.deposits import (
    DEPOSIT_FACTORY_CONTRACT,
    DEPOSIT_FORWARDER_CONTRACT,
    forwarder_implementation,
)
from plugins.evm.rpc import RpcPool

PAYMENT_CONTRACT = "payment contract"
INTENT_SIGNER = "intent signer"
DEPOSIT_FACTORY = "deposit factory"
SWEEPER_GAS = "sweeper gas"

Check = Callable[[AsyncWeb3[Any]], Awaitable[HealthCheck]]


def _error(error: BaseException) -> str:
    """An error named without its message (aiohttp quotes the URL, and URLs hold API keys)."""
    status = getattr(error, "status", None)
    return f"{type(error).__name__} {status}" if isinstance(status, int) else type(error).__name__


async def rpc_checks(
    pool: RpcPool, chain_id: int
) -> tuple[list[HealthCheck], AsyncWeb3[Any] | None]:
    """One check per RPC URL (does it answer with `chain_id`?), and the first node that does."""

    async def check(index: int, w3: AsyncWeb3[Any]) -> HealthCheck:
        name = f"rpc #{index + 1}"
        try:
            answered = int(await asyncio.wait_for(w3.eth.chain_id, pool.timeout))
        except Exception as error:
            return HealthCheck(
                name,
                False,
                f"rpc_urls[{index}] does not answer ({_error(error)}): check the URL, its API "
                "key and that the node is up",
            )
        if answered != chain_id:
            return HealthCheck(
                name,
                False,
                f"rpc_urls[{index}] answers chain id {answered}, expected {chain_id}: "
                "it points at another chain",
            )
        return HealthCheck(name, True, f"answers with chain id {chain_id}")

    checks = list(await asyncio.gather(*(check(i, w3) for i, w3 in enumerate(pool.clients))))
    usable = next((w3 for w3, c in zip(pool.clients, checks, strict=True) if c.ok), None)
    return checks, usable


async def guarded(
    name: str, w3: AsyncWeb3[Any] | None, seconds: float, check: Check
) -> HealthCheck:
    """Run `check` on the node within `seconds`, failing it (never raising) when there is no
    node, it errs or it is too slow."""
    if w3 is None:
        return HealthCheck(name, False, "not checked: no RPC URL answers on this chain")
    try:
        return await asyncio.wait_for(check(w3), seconds)
    except Exception as error:
        return HealthCheck(name, False, f"the node did not answer ({_error(error)})")


def skipped(name: str, because: str) -> HealthCheck:
    return HealthCheck(name, False, f"not checked: {because}")


async def _code_problem(w3: AsyncWeb3[Any], address: str, contract: str) -> str | None:
    """Why the code at `address` is not `contract`'s runtime code, or None when it is."""
    code = bytes(await w3.eth.get_code(to_checksum_address(address)))
    if not code:
        return f"no contract at {address}"
    if not is_runtime_code_of(contract, code):
        return f"{address} holds other code than this version's {contract}"
    return None


def _wrong_code(name: str, problem: str, setting: str) -> HealthCheck:
    return HealthCheck(
        name, False, f"{problem}: check {setting}, or deploy it with `kassa contracts deploy`"
    )


def code_check(name: str, address: str, contract: str, setting: str) -> Check:
    """The check that `setting` (an address) holds `contract` as this version built it."""

    async def check(w3: AsyncWeb3[Any]) -> HealthCheck:
        problem = await _code_problem(w3, address, contract)
        if problem is not None:
            return _wrong_code(name, problem, setting)
        return HealthCheck(
            name, True, f"{contract} at {address}: its code matches the committed artifact"
        )

    return check


def signer_check(contract_address: str, signer: str) -> Check:
    """The intent signer must be authorised on the contract, or every payment reverts."""

    async def check(w3: AsyncWeb3[Any]) -> HealthCheck:
        contract = w3.eth.contract(
            address=to_checksum_address(contract_address), abi=checkout_abi()
        )
        if await contract.functions.isSigner(signer).call():
            return HealthCheck(INTENT_SIGNER, True, f"{signer} is an authorised signer")
        return HealthCheck(
            INTENT_SIGNER,
            False,
            f"{signer} (from signer_key) is not a signer of {contract_address}: the contract "
            f"owner calls addSigner({signer}), or set signer_key to an authorised signer's key",
        )

    return check


def factory_check(factory: str) -> Check:
    """The deposit factory and the forwarder it clones are this version's contracts."""

    async def check(w3: AsyncWeb3[Any]) -> HealthCheck:
        problem = await _code_problem(w3, factory, DEPOSIT_FACTORY_CONTRACT)
        forwarder = ""
        if problem is None:
            forwarder = await forwarder_implementation(w3, factory)
            problem = await _code_problem(w3, forwarder, DEPOSIT_FORWARDER_CONTRACT)
        if problem is not None:
            return _wrong_code(DEPOSIT_FACTORY, problem, "deposit_factory")
        return HealthCheck(
            DEPOSIT_FACTORY,
            True,
            f"{DEPOSIT_FACTORY_CONTRACT} at {factory} and its forwarder at {forwarder}: "
            "their code matches the committed artifacts",
        )

    return check


def sweeper_check(sweeper_key: str | None, symbol: str, sweeps: int, gas_per_sweep: int) -> Check:
    """The sweeper pays gas for every sweep: it must hold enough for `sweeps` more single
    sweeps of `gas_per_sweep` gas at the node's current gas price."""

    async def check(w3: AsyncWeb3[Any]) -> HealthCheck:
        if not sweeper_key:
            return HealthCheck(
                SWEEPER_GAS,
                False,
                "no sweeper_key: deposits are credited but never swept to the merchants; "
                "set sweeper_key or sweeper_key_file",
            )
        sweeper = Account.from_key(sweeper_key).address
        balance = int(await w3.eth.get_balance(sweeper))
        needed = sweeps * gas_per_sweep * int(await w3.eth.gas_price)
        holds = f"{sweeper} holds {base_units_to_decimal(balance, 18)} {symbol}"
        enough = f"gas for {sweeps} sweeps at the current gas price is "
        enough += f"{base_units_to_decimal(needed, 18)} {symbol}"
        if balance < needed:
            return HealthCheck(SWEEPER_GAS, False, f"{holds}; {enough}: send it gas money")
        return HealthCheck(SWEEPER_GAS, True, f"{holds} ({enough})")

    return check
