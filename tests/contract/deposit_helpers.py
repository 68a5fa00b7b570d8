"""Helpers for the deposit-address tests: terms, a shopper's plain transfers, sweeps, events."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address

from plugins.evm.contract import NATIVE_TOKEN
from plugins.evm.deposits import (
    DEPOSIT_DEPLOYED_TOPIC,
    SWEPT_TOPIC,
    DepositTerms,
    Swept,
    decode_swept,
    deposit_address,
    encode_sweep_call,
    encode_sweep_many_call,
)
from tests.contract.harness import Kassa

# Random-looking payment refs, distinct within a test session.
_refs = itertools.count(1)


def make_terms(
    kassa: Kassa,
    fee_basis_points: int = 100,
    payout: str | None = None,
    fee_recipient: str | None = None,
    payment_ref: bytes | None = None,
) -> DepositTerms:
    """Terms for the harness's merchant and fee recipient (1% fee) unless told otherwise."""
    return DepositTerms(
        payout=payout or kassa.roles.merchant,
        fee_recipient=kassa.roles.fee_recipient if fee_recipient is None else fee_recipient,
        fee_basis_points=fee_basis_points,
        payment_ref=payment_ref or keccak(next(_refs).to_bytes(32, "big")),
    )


async def address_of(kassa: Kassa, terms: DepositTerms) -> str:
    return await deposit_address(kassa.w3, kassa.factory.address, terms)


async def code_of(kassa: Kassa, address: str) -> bytes:
    return bytes(await kassa.w3.eth.get_code(to_checksum_address(address)))


async def transfer_to(kassa: Kassa, token: str, to: str, amount: int, sender: str = "") -> Any:
    """A shopper's plain transfer of `amount` (native coin, or a test token minted first)."""
    sender = sender or kassa.roles.payer
    if token == NATIVE_TOKEN:
        receipt = await kassa.send({"from": sender, "to": to, "value": amount})
        assert receipt["status"] == 1
        return receipt
    erc20 = kassa.contract("TestERC20", token)  # the USDT-like token shares these signatures
    await kassa.transact(erc20.functions.mint(sender, amount), sender)
    return await kassa.transact(erc20.functions.transfer(to, amount), sender)


def sweep_tx(
    kassa: Kassa, terms: DepositTerms, tokens: Sequence[str] = (), sender: str = ""
) -> dict[str, Any]:
    """The sweep transaction, sent by an unrelated account unless `sender` is given."""
    tx = encode_sweep_call(kassa.factory.address, terms, tokens)
    return {**tx, "from": sender or kassa.roles.other}


async def sweep(
    kassa: Kassa, terms: DepositTerms, tokens: Sequence[str] = (), sender: str = ""
) -> Any:
    receipt = await kassa.send(sweep_tx(kassa, terms, tokens, sender))
    assert receipt["status"] == 1
    return receipt


async def sweep_error(
    kassa: Kassa, terms: DepositTerms, tokens: Sequence[str] = (), sender: str = ""
) -> str:
    return await kassa.revert_reason(sweep_tx(kassa, terms, tokens, sender))


async def sweep_many(
    kassa: Kassa, deposits: Sequence[tuple[DepositTerms, Sequence[str]]], sender: str = ""
) -> Any:
    tx = encode_sweep_many_call(kassa.factory.address, deposits)
    receipt = await kassa.send({**tx, "from": sender or kassa.roles.other})
    assert receipt["status"] == 1
    return receipt


def swept_events(kassa: Kassa, receipt: Any) -> list[Swept]:
    return [
        decode_swept(log)
        for log in receipt["logs"]
        if log["address"] == kassa.factory.address and log["topics"][0].to_0x_hex() == SWEPT_TOPIC
    ]


def deployed_deposits(kassa: Kassa, receipt: Any) -> list[str]:
    """Deposit addresses of the `DepositDeployed` events in `receipt`."""
    return [
        to_checksum_address(log["topics"][1][-20:])
        for log in receipt["logs"]
        if log["address"] == kassa.factory.address
        and log["topics"][0].to_0x_hex() == DEPOSIT_DEPLOYED_TOPIC
    ]


async def balances(kassa: Kassa, token: str, *accounts: str) -> list[int]:
    return [await kassa.balance(token, account) for account in accounts]


@dataclass
class BalanceWatch:
    """Balances of `token` taken now, to tell later what each account gained."""

    kassa: Kassa
    token: str
    accounts: tuple[str, ...]
    before: list[int]

    @classmethod
    async def start(cls, kassa: Kassa, token: str, *accounts: str) -> BalanceWatch:
        """Watch `accounts`, by default the harness's payout address and fee recipient."""
        accounts = accounts or (kassa.roles.merchant, kassa.roles.fee_recipient)
        return cls(kassa, token, accounts, await balances(kassa, token, *accounts))

    async def gains(self) -> list[int]:
        after = await balances(self.kassa, self.token, *self.accounts)
        return [now - then for now, then in zip(after, self.before, strict=True)]
