"""Per-payment deposit addresses from Python: derivation, sweep calls, events, deployment.

`KassaDepositFactory` (contracts/KassaDepositFactory.sol, docs/contract.md "Deposit addresses")
gives every payment its own CREATE2 address, derived from the merchant's payout address, the fee
recipient, the fee rate in basis points and the payment reference (`DepositTerms`). A shopper
pays with a plain transfer to that address; `sweep` (anyone may send it) deploys the deposit's
forwarder if needed and moves the whole balance to the payout address and the fee recipient.

The factory's and forwarder's custom errors are decoded by
`plugins.evm.contract.decode_contract_error`, like the payment contract's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import AsyncWeb3

from plugins.evm.contract import (
    NATIVE_TOKEN,
    TxRequest,
    _check_address,
    _check_bytes32,
    _hex_or_none,
    cli_deployer,
    deploy_artifact,
    load_artifact,
)

DEPOSIT_FACTORY_CONTRACT = "KassaDepositFactory"
DEPOSIT_FORWARDER_CONTRACT = "KassaDepositForwarder"
MAX_FEE_BASIS_POINTS = 10_000
"""The factory's cap: a fee as large as the amount."""
NO_FEE_RECIPIENT = NATIVE_TOKEN
"""`DepositTerms.fee_recipient` for a deposit without a fee (the zero address)."""

_DEPOSIT_TUPLE = "(address,address,uint256,bytes32,address[])"
SWEEP_SELECTOR = keccak(text="sweep(address,address,uint256,bytes32,address[])")[:4]
SWEEP_MANY_SELECTOR = keccak(text=f"sweepMany({_DEPOSIT_TUPLE}[])")[:4]
SWEPT_TOPIC = "0x" + keccak(text="Swept(address,bytes32,address,uint256,uint256)").hex()
"""topic0 of the factory's `Swept` event, for `eth_getLogs` filters."""
DEPOSIT_DEPLOYED_TOPIC = "0x" + keccak(text="DepositDeployed(address,bytes32)").hex()
"""topic0 of the factory's `DepositDeployed` event."""

# The ERC-1167 proxy code around the implementation address in OpenZeppelin's
# `Clones._cloneCodeWithImmutableArgs` (init code prefix, then runtime code); the clone's
# immutable arguments follow it.
_CLONE_INIT_PREFIX = bytes.fromhex("61")
_CLONE_CODE_HEAD = bytes.fromhex("3d81600a3d39f3363d3d373d3d3d363d73")
_CLONE_CODE_TAIL = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")
_CLONE_RUNTIME_SIZE = 0x2D


@dataclass(frozen=True)
class DepositTerms:
    """The parameters one deposit address is derived from; a sweep repeats them exactly.

    `payout` is the merchant's payout address, `fee_recipient` the gateway's fee recipient
    (`NO_FEE_RECIPIENT` for none), `fee_basis_points` the fee on top of the amount (0 to
    10,000), `payment_ref` the 32-byte payment reference (the CREATE2 salt).
    """

    payout: str
    fee_recipient: str
    fee_basis_points: int
    payment_ref: bytes

    def __post_init__(self) -> None:
        _check_address("payout", self.payout)
        _check_address("fee_recipient", self.fee_recipient)
        _check_bytes32("payment_ref", self.payment_ref)
        if self.payout == NATIVE_TOKEN:
            raise ValueError("payout cannot be the zero address")
        bps = self.fee_basis_points
        if isinstance(bps, bool) or not isinstance(bps, int):
            raise ValueError("fee_basis_points must be an int")
        if not 0 <= bps <= MAX_FEE_BASIS_POINTS:
            raise ValueError(f"fee_basis_points must be in [0, {MAX_FEE_BASIS_POINTS}]")

    def as_abi_args(self) -> tuple[str, str, int, bytes]:
        """The terms in the factory's argument order."""
        return (self.payout, self.fee_recipient, self.fee_basis_points, self.payment_ref)

    def split(self, balance: int) -> tuple[int, int]:
        """`(to_payout, to_fee)` of a swept `balance`, rounded as the forwarder rounds."""
        if self.fee_recipient == NO_FEE_RECIPIENT:
            return balance, 0
        bps = self.fee_basis_points
        fee = balance * bps // (MAX_FEE_BASIS_POINTS + bps)
        return balance - fee, fee


def deposit_factory_abi() -> list[dict[str, Any]]:
    return load_artifact(DEPOSIT_FACTORY_CONTRACT)["abi"]


def factory_contract(w3: AsyncWeb3[Any], factory: str) -> Any:
    """A web3 contract object for the factory at `factory`."""
    return w3.eth.contract(address=to_checksum_address(factory), abi=deposit_factory_abi())


# ----------------------------------------------------------------------------- addresses


async def deposit_address(w3: AsyncWeb3[Any], factory: str, terms: DepositTerms) -> str:
    """The deposit address of `terms`, as the factory derives it (one `eth_call`)."""
    call = factory_contract(w3, factory).functions.depositAddress(*terms.as_abi_args())
    return to_checksum_address(await call.call())


async def forwarder_implementation(w3: AsyncWeb3[Any], factory: str) -> str:
    """The forwarder every deposit of `factory` clones (fixed for the factory's lifetime)."""
    call = factory_contract(w3, factory).functions.forwarderImplementation()
    return to_checksum_address(await call.call())


def clone_args(terms: DepositTerms) -> bytes:
    """The 42 bytes appended to a deposit's code: payout, fee recipient, uint16 fee rate."""
    return (
        bytes.fromhex(terms.payout[2:])
        + bytes.fromhex(terms.fee_recipient[2:])
        + terms.fee_basis_points.to_bytes(2, "big")
    )


def compute_deposit_address(factory: str, implementation: str, terms: DepositTerms) -> str:
    """The deposit address of `terms` computed offline (CREATE2), equal to `deposit_address`.

    `implementation` is the factory's `forwarder_implementation`; read it once per factory.
    """
    args = clone_args(terms)
    init_code = (
        _CLONE_INIT_PREFIX
        + (_CLONE_RUNTIME_SIZE + len(args)).to_bytes(2, "big")
        + _CLONE_CODE_HEAD
        + bytes.fromhex(to_checksum_address(implementation)[2:])
        + _CLONE_CODE_TAIL
        + args
    )
    preimage = (
        b"\xff"
        + bytes.fromhex(to_checksum_address(factory)[2:])
        + terms.payment_ref
        + keccak(init_code)
    )
    return to_checksum_address(keccak(preimage)[12:])


# ----------------------------------------------------------------------------- sweeps


def _token_list(tokens: Sequence[str]) -> list[str]:
    for token in tokens:
        _check_address("token", token)
    return list(tokens)


def encode_sweep_call(factory: str, terms: DepositTerms, tokens: Sequence[str]) -> TxRequest:
    """The `sweep(payout, feeRecipient, feeBasisPoints, paymentRef, tokens)` transaction.

    The native coin is always swept; `tokens` lists the ERC-20 tokens to sweep as well.
    """
    arguments = abi_encode(
        ["address", "address", "uint256", "bytes32", "address[]"],
        [*terms.as_abi_args(), _token_list(tokens)],
    )
    return {
        "to": to_checksum_address(factory),
        "data": "0x" + (SWEEP_SELECTOR + arguments).hex(),
        "value": 0,
    }


def encode_sweep_many_call(
    factory: str, deposits: Sequence[tuple[DepositTerms, Sequence[str]]]
) -> TxRequest:
    """The `sweepMany(deposits)` transaction: several `(terms, tokens)` sweeps in one."""
    batch = [(*terms.as_abi_args(), _token_list(tokens)) for terms, tokens in deposits]
    arguments = abi_encode([f"{_DEPOSIT_TUPLE}[]"], [batch])
    return {
        "to": to_checksum_address(factory),
        "data": "0x" + (SWEEP_MANY_SELECTOR + arguments).hex(),
        "value": 0,
    }


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Swept:
    """A decoded `Swept` log: `to_payout + to_fee` of `token` left `deposit` (token zero =
    native coin). Amounts are what the deposit sent; a fee-on-transfer token delivers less.
    Position fields are None for pending logs."""

    deposit: str
    payment_ref: bytes
    token: str
    to_payout: int
    to_fee: int
    factory_address: str
    block_number: int | None
    block_hash: str | None
    transaction_hash: str | None
    log_index: int | None


def decode_swept(log: Mapping[str, Any]) -> Swept:
    """Decode one `eth_getLogs` / receipt log entry; ValueError if it is another event."""
    topics = [HexBytes(topic) for topic in log["topics"]]
    if len(topics) != 4 or topics[0].to_0x_hex() != SWEPT_TOPIC:
        raise ValueError("not a Swept log")
    to_payout, to_fee = abi_decode(["uint256", "uint256"], HexBytes(log["data"]))
    return Swept(
        deposit=to_checksum_address(topics[1][-20:]),
        payment_ref=bytes(topics[2]),
        token=to_checksum_address(topics[3][-20:]),
        to_payout=to_payout,
        to_fee=to_fee,
        factory_address=to_checksum_address(log["address"]),
        block_number=log.get("blockNumber"),
        block_hash=_hex_or_none(log.get("blockHash")),
        transaction_hash=_hex_or_none(log.get("transactionHash")),
        log_index=log.get("logIndex"),
    )


# ----------------------------------------------------------------------------- deployment


async def deploy_deposit_factory(w3: AsyncWeb3[Any], deployer_key: str) -> str:
    """Deploy KassaDepositFactory (and, from its constructor, the forwarder implementation);
    returns the factory's checksum address. It has no owner: the key only pays for gas."""
    return await deploy_artifact(w3, deployer_key, DEPOSIT_FACTORY_CONTRACT)


async def deploy_deposit_factory_from_cli(rpc_url: str) -> str:
    """`kassa contracts deploy`: deploy the factory with the key in `KASSA_DEPLOYER_KEY`."""
    async with cli_deployer(rpc_url) as (w3, deployer_key):
        return await deploy_deposit_factory(w3, deployer_key)
