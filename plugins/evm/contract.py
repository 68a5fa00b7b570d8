"""The Kassa payment contract from Python: artifacts, intents, calls, events, errors, deployment.

The contract (contracts/KassaCheckout.sol, see docs/contract.md) executes EIP-712 signed
payment intents. Every chain id and address is a parameter.
Artifacts are the committed JSON files written by `node contracts/build.mjs`, so nothing here
needs a Solidity compiler.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_checksum_address, keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.middleware import ExtraDataToPOAMiddleware

from app.logs import keep_out_of_logs
from app.resources import package_folder

logger = logging.getLogger(__name__)

CHECKOUT_CONTRACT = "KassaCheckout"
# Every contract whose custom errors `decode_contract_error` names: the payment contract and the
# deposit-address contracts (plugins/evm/deposits.py), whose errors can surface in one revert.
_CONTRACTS_WITH_ERRORS = (CHECKOUT_CONTRACT, "KassaDepositFactory", "KassaDepositForwarder")
NATIVE_TOKEN = "0x0000000000000000000000000000000000000000"
"""`PaymentIntent.token` for the chain's native coin."""
DEPLOYER_KEY_ENV = "KASSA_DEPLOYER_KEY"

# The EIP-712 domain name and version fixed in the contract's constructor.
EIP712_NAME = "KassaCheckout"
EIP712_VERSION = "1"
PAYMENT_INTENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("sessionRef", "bytes32"),
    ("paymentRef", "bytes32"),
    ("token", "address"),
    ("amount", "uint256"),
    ("recipient", "address"),
    ("fee", "uint256"),
    ("deadline", "uint256"),
)
_INTENT_TUPLE = "(" + ",".join(kind for _, kind in PAYMENT_INTENT_FIELDS) + ")"
PAY_SELECTOR = keccak(text=f"pay({_INTENT_TUPLE},bytes)")[:4]

_PAYMENT_RECEIVED_SIGNATURE = (
    "PaymentReceived(bytes32,bytes32,address,address,uint256,address,uint256)"
)
PAYMENT_RECEIVED_TOPIC = "0x" + keccak(text=_PAYMENT_RECEIVED_SIGNATURE).hex()
"""topic0 of the `PaymentReceived` event, for `eth_getLogs` filters."""

_UINT256_LIMIT = 2**256


class ContractDeploymentError(RuntimeError):
    """A deployment could not be sent or did not produce a contract."""


class DeployerKeyMissing(ContractDeploymentError):
    """`KASSA_DEPLOYER_KEY` is not set."""


# ----------------------------------------------------------------------------- artifacts


class ContractArtifact(TypedDict):
    """One JSON file written by contracts/build.mjs (keys as the build script writes them)."""

    abi: list[dict[str, Any]]
    bytecode: str
    compiler: dict[str, str]
    contractName: str
    deployedBytecode: str
    # {AST id: [{"start", "length"}]}: byte ranges of `deployedBytecode` the constructor fills
    # with immutables (zeros in the artifact).
    immutableReferences: dict[str, list[dict[str, int]]]
    settings: dict[str, Any]
    sourceHash: str
    sourceName: str
    sources: dict[str, str]
    storageLayout: list[dict[str, Any]]


def artifacts_dir() -> Path:
    """The committed artifacts: the repository's contracts/artifacts, installed as the data
    package `plugins.evm.contracts` (test contracts, which the devnet deploys, in test/)."""
    return package_folder("plugins.evm.contracts", "artifacts")


@functools.cache
def load_artifact(name: str) -> ContractArtifact:
    """The artifact of contract `name` (e.g. "KassaCheckout", or a test contract "TestUSDC").

    Cached: treat the result as read-only.
    """
    root = artifacts_dir()
    for candidate in (root / f"{name}.json", root / "test" / f"{name}.json"):
        if candidate.is_file():
            artifact: ContractArtifact = json.loads(candidate.read_text())
            return artifact
    raise FileNotFoundError(f"no artifact named {name!r} in {root}")


def checkout_abi() -> list[dict[str, Any]]:
    return load_artifact(CHECKOUT_CONTRACT)["abi"]


def is_runtime_code_of(name: str, code: bytes) -> bool:
    """Whether `code` (as `eth_getCode` returns it) is contract `name`'s committed runtime code.

    Immutables (the EIP-712 domain cache, the factory's forwarder …) are written into the code
    by the constructor and differ per deployment, so their byte ranges, which the compiler
    records in the artifact, are masked; every other byte, the metadata hash at the end
    included, must be equal: any change to the source or the compiler settings shows.
    """
    artifact = load_artifact(name)
    expected = bytes(HexBytes(artifact["deployedBytecode"]))
    if len(code) != len(expected):
        return False
    masked = bytearray(code)
    for ranges in artifact["immutableReferences"].values():
        for span in ranges:
            start, end = span["start"], span["start"] + span["length"]
            masked[start:end] = expected[start:end]
    return bytes(masked) == expected


# ----------------------------------------------------------------------------- intents


def _check_bytes32(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes")


def _check_uint256(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT256_LIMIT:
        raise ValueError(f"{name} must be an int in [0, 2**256)")


def _check_address(name: str, value: str) -> None:
    if not isinstance(value, str) or not is_checksum_address(value):
        raise ValueError(f"{name} must be a checksum address, got {value!r}")


@dataclass(frozen=True)
class PaymentIntent:
    """One exact payment for one checkout session, as signed for and checked by the contract.

    `session_ref` is the session's nonce index as 32 big-endian bytes (see `session_ref`):
    sequential indexes are cheapest on-chain. `token` is `NATIVE_TOKEN` for the native coin.
    Amounts are base units. `deadline` is a unix timestamp compared with the block timestamp.
    """

    session_ref: bytes
    payment_ref: bytes
    token: str
    amount: int
    recipient: str
    fee: int
    deadline: int

    def __post_init__(self) -> None:
        _check_bytes32("session_ref", self.session_ref)
        _check_bytes32("payment_ref", self.payment_ref)
        _check_address("token", self.token)
        _check_address("recipient", self.recipient)
        _check_uint256("amount", self.amount)
        _check_uint256("fee", self.fee)
        _check_uint256("deadline", self.deadline)

    @property
    def is_native(self) -> bool:
        return self.token == NATIVE_TOKEN

    @property
    def total(self) -> int:
        """What leaves the payer's wallet: the amount plus the gateway fee."""
        return self.amount + self.fee

    def as_abi_tuple(self) -> tuple[bytes, bytes, str, int, str, int, int]:
        """The intent in the contract's field order, for ABI encoding."""
        return (
            self.session_ref,
            self.payment_ref,
            self.token,
            self.amount,
            self.recipient,
            self.fee,
            self.deadline,
        )


def session_ref(nonce_index: int) -> bytes:
    """The sessionRef for a session's nonce index (the contract reads it as a uint256)."""
    _check_uint256("nonce_index", nonce_index)
    return nonce_index.to_bytes(32, "big")


def intent_typed_data(
    intent: PaymentIntent, chain_id: int, contract_address: str
) -> dict[str, Any]:
    """The full EIP-712 message (the `eth_signTypedData_v4` shape) for `intent`."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "PaymentIntent": [{"name": name, "type": kind} for name, kind in PAYMENT_INTENT_FIELDS],
        },
        "primaryType": "PaymentIntent",
        "domain": {
            "name": EIP712_NAME,
            "version": EIP712_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(contract_address),
        },
        "message": dict(
            zip((name for name, _ in PAYMENT_INTENT_FIELDS), intent.as_abi_tuple(), strict=True)
        ),
    }


def intent_digest(intent: PaymentIntent, chain_id: int, contract_address: str) -> bytes:
    """The 32-byte EIP-712 digest; equals the contract's `hashIntent(intent)`."""
    signable = encode_typed_data(full_message=intent_typed_data(intent, chain_id, contract_address))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_intent(
    intent: PaymentIntent, chain_id: int, contract_address: str, signer_key: str | bytes
) -> bytes:
    """The 65-byte (r, s, v) EIP-712 signature of `intent` for one deployment on one chain."""
    signed = Account.sign_typed_data(
        signer_key, full_message=intent_typed_data(intent, chain_id, contract_address)
    )
    return bytes(signed.signature)


# ----------------------------------------------------------------------------- calls


class TxRequest(TypedDict):
    """What a wallet needs to send a payment (`eth_sendTransaction` fields)."""

    to: str
    data: str
    value: int


def encode_pay_call(intent: PaymentIntent, signature: bytes, contract_address: str) -> TxRequest:
    """The `pay(intent, signature)` transaction; `value` is `amount + fee` for the native coin."""
    arguments = abi_encode([_INTENT_TUPLE, "bytes"], [intent.as_abi_tuple(), bytes(signature)])
    return {
        "to": to_checksum_address(contract_address),
        "data": "0x" + (PAY_SELECTOR + arguments).hex(),
        "value": intent.total if intent.is_native else 0,
    }


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class PaymentReceived:
    """A decoded `PaymentReceived` log. Position fields are None for pending logs."""

    session_ref: bytes
    payment_ref: bytes
    payer: str
    token: str
    amount: int
    recipient: str
    fee: int
    contract_address: str
    block_number: int | None
    block_hash: str | None
    transaction_hash: str | None
    log_index: int | None


def _hex_or_none(value: Any) -> str | None:
    return None if value is None else HexBytes(value).to_0x_hex()


def decode_payment_received(log: Mapping[str, Any]) -> PaymentReceived:
    """Decode one `eth_getLogs` / receipt log entry; ValueError if it is another event."""
    topics = [HexBytes(topic) for topic in log["topics"]]
    if len(topics) != 4 or topics[0].to_0x_hex() != PAYMENT_RECEIVED_TOPIC:
        raise ValueError("not a PaymentReceived log")
    token, amount, recipient, fee = abi_decode(
        ["address", "uint256", "address", "uint256"], HexBytes(log["data"])
    )
    return PaymentReceived(
        session_ref=bytes(topics[1]),
        payment_ref=bytes(topics[2]),
        payer=to_checksum_address(topics[3][-20:]),
        token=to_checksum_address(token),
        amount=amount,
        recipient=to_checksum_address(recipient),
        fee=fee,
        contract_address=to_checksum_address(log["address"]),
        block_number=log.get("blockNumber"),
        block_hash=_hex_or_none(log.get("blockHash")),
        transaction_hash=_hex_or_none(log.get("transactionHash")),
        log_index=log.get("logIndex"),
    )


# Owner actions on the payment contract (and the events its constructor emits): each one
# changes who may authorise payments, where fees go, or whether payments go through at all,
# so the watcher reports every one to the operator (`EvmNetwork.observe_with_notices`).
_ADMIN_EVENT_MESSAGES = {
    "SignerAdded": "intent signer {signer} was added",
    "SignerRemoved": "intent signer {signer} was removed",
    "FeeRecipientChanged": "the fee recipient changed from {previousFeeRecipient} to "
    "{newFeeRecipient}",
    "Paused": "{account} paused it: every payment reverts until the owner unpauses it",
    "Unpaused": "{account} unpaused it",
    "OwnershipTransferStarted": "{previousOwner} started handing its ownership to {newOwner}",
    "OwnershipTransferred": "its ownership passed from {previousOwner} to {newOwner}",
    "Rescued": "the owner moved {amount} base units of token {token} out of it to {to}",
}


@functools.cache
def _admin_events() -> dict[str, dict[str, Any]]:
    """The admin events' ABI entries by topic0."""
    events = {}
    for entry in checkout_abi():
        if entry["type"] == "event" and entry["name"] in _ADMIN_EVENT_MESSAGES:
            types = ",".join(_abi_type(param) for param in entry["inputs"])
            events["0x" + keccak(text=f"{entry['name']}({types})").hex()] = entry
    return events


def admin_event_topics() -> list[str]:
    """topic0 of every admin event, for one `eth_getLogs` filter (topics are OR-ed)."""
    return sorted(_admin_events())


@dataclass(frozen=True)
class AdminEvent:
    """A decoded admin event of the payment contract; `args` by the ABI's parameter names
    (addresses checksummed)."""

    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    transaction_hash: str
    log_index: int

    def describe(self) -> str:
        """A sentence for the operator (the native coin shows as the zero address)."""
        return _ADMIN_EVENT_MESSAGES[self.name].format(**self.args)


def decode_admin_event(log: Mapping[str, Any]) -> AdminEvent:
    """Decode one mined log entry; ValueError if it is not an admin event."""
    topics = [HexBytes(topic) for topic in log["topics"]]
    entry = _admin_events().get(topics[0].to_0x_hex()) if topics else None
    if entry is None:
        raise ValueError("not an admin event of the payment contract")
    indexed = [p for p in entry["inputs"] if p["indexed"]]
    plain = [p for p in entry["inputs"] if not p["indexed"]]
    if len(topics) != 1 + len(indexed):
        raise ValueError(f"malformed {entry['name']} log")
    values = [
        abi_decode([p["type"]], bytes(t))[0] for p, t in zip(indexed, topics[1:], strict=True)
    ]
    values += abi_decode([p["type"] for p in plain], HexBytes(log["data"]))
    params = indexed + plain
    return AdminEvent(
        name=entry["name"],
        args={
            p["name"]: to_checksum_address(v) if p["type"] == "address" else v
            for p, v in zip(params, values, strict=True)
        },
        block_number=int(log["blockNumber"]),
        block_hash=HexBytes(log["blockHash"]).to_0x_hex(),
        transaction_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
        log_index=int(log["logIndex"]),
    )


# ----------------------------------------------------------------------------- errors

# Reverts a payment can surface besides the contract's own errors: Solidity's built-ins and
# the ERC-6093 errors of OpenZeppelin-based tokens (bubbled up through SafeERC20).
_EXTRA_ERRORS = (
    "Error(string reason)",
    "Panic(uint256 code)",
    "ERC20InsufficientBalance(address sender,uint256 balance,uint256 needed)",
    "ERC20InvalidSender(address sender)",
    "ERC20InvalidReceiver(address receiver)",
    "ERC20InsufficientAllowance(address spender,uint256 allowance,uint256 needed)",
    "ERC20InvalidApprover(address approver)",
    "ERC20InvalidSpender(address spender)",
)


@dataclass(frozen=True)
class _ErrorShape:
    name: str
    arg_names: tuple[str, ...]
    arg_types: tuple[str, ...]


def _abi_type(param: Mapping[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _parse_error_signature(signature: str) -> _ErrorShape:
    name, params = signature.rstrip(")").split("(", 1)
    pairs = [param.split(" ") for param in params.split(",") if param]
    return _ErrorShape(name, tuple(p[1] for p in pairs), tuple(p[0] for p in pairs))


@functools.cache
def _known_errors() -> dict[bytes, _ErrorShape]:
    shapes = [_parse_error_signature(signature) for signature in _EXTRA_ERRORS]
    entries = [entry for name in _CONTRACTS_WITH_ERRORS for entry in load_artifact(name)["abi"]]
    for entry in entries:
        if entry["type"] == "error":
            shapes.append(
                _ErrorShape(
                    entry["name"],
                    tuple(param["name"] for param in entry["inputs"]),
                    tuple(_abi_type(param) for param in entry["inputs"]),
                )
            )
    return {
        keccak(text=f"{shape.name}({','.join(shape.arg_types)})")[:4]: shape for shape in shapes
    }


def _format_value(kind: str, value: Any) -> str:
    if kind == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        return repr(value)
    return str(value)


def decode_contract_error(revert_data: bytes | str) -> str:
    """A readable revert reason: `Name(arg=value, ...)` for known errors.

    Knows the custom errors of the payment and deposit-address contracts (their own and
    OpenZeppelin's), `Error(string)`, `Panic(uint256)` and the standard ERC-20 errors; anything
    else is shown as `UnknownError(0x…)`, and no data as `EmptyRevert()`.
    """
    data = HexBytes(revert_data)
    if len(data) == 0:
        return "EmptyRevert()"
    shape = _known_errors().get(bytes(data[:4]))
    if shape is None:
        return f"UnknownError({data.to_0x_hex()})"
    try:
        values = abi_decode(list(shape.arg_types), bytes(data[4:]))
    except Exception:  # malformed arguments: still name the error
        return f"{shape.name}(<undecodable {data[4:].to_0x_hex()}>)"
    if shape.name == "Panic":
        return f"Panic(code={hex(values[0])})"
    args = ", ".join(
        f"{name or f'arg{i}'}={_format_value(kind, value)}"
        for i, (name, kind, value) in enumerate(
            zip(shape.arg_names, shape.arg_types, values, strict=True)
        )
    )
    return f"{shape.name}({args})"


def contract_error_name(revert_data: bytes | str) -> str:
    """Just the error name of `decode_contract_error` (e.g. "SessionAlreadyPaid")."""
    return decode_contract_error(revert_data).split("(", 1)[0]


def revert_data(error: BaseException) -> bytes | None:
    """The raw revert data carried by a web3 `ContractLogicError` (or None)."""
    data = getattr(error, "data", None)
    if isinstance(data, Mapping):  # some providers nest it: {"data": "0x…", ...}
        data = data.get("data")
    if isinstance(data, str | bytes):
        return bytes(HexBytes(data))
    return None


# ----------------------------------------------------------------------------- deployment


def _account(deployer_key: str) -> Any:
    # Never let the key reach a message, a log or a chained traceback.
    try:
        return Account.from_key(deployer_key)
    except Exception:
        raise ContractDeploymentError("the deployer key is not a valid private key") from None


async def deploy_artifact(
    w3: AsyncWeb3[Any], deployer_key: str, artifact_name: str, *ctor_args: Any
) -> str:
    """Deploy the committed artifact `artifact_name`; returns the checksum contract address."""
    artifact = load_artifact(artifact_name)
    account = _account(deployer_key)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = await factory.constructor(*ctor_args).build_transaction(
        {
            "from": account.address,
            "nonce": await w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": await w3.eth.chain_id,
        }
    )
    signed = account.sign_transaction(tx)
    tx_hash = await w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash)
    address = receipt.get("contractAddress")
    if receipt["status"] != 1 or not address:
        raise ContractDeploymentError(
            f"deploying {artifact_name} failed in transaction {tx_hash.to_0x_hex()}"
        )
    logger.info("deployed %s at %s (tx %s)", artifact_name, address, tx_hash.to_0x_hex())
    return to_checksum_address(address)


async def deploy_checkout_contract(
    w3: AsyncWeb3[Any],
    deployer_key: str,
    owner: str,
    signers: Sequence[str],
    fee_recipient: str | None,
) -> str:
    """Deploy KassaCheckout; returns its checksum address.

    `owner` manages signers, fee recipient, pause and rescue (use a multisig in production).
    `signers` are the intent signers (at least one). `fee_recipient=None` disables fees.
    """
    if not signers:
        raise ValueError("at least one intent signer is required")
    return await deploy_artifact(
        w3,
        deployer_key,
        CHECKOUT_CONTRACT,
        to_checksum_address(owner),
        [to_checksum_address(signer) for signer in signers],
        to_checksum_address(fee_recipient or NATIVE_TOKEN),
    )


@contextlib.asynccontextmanager
async def cli_deployer(rpc_url: str) -> AsyncIterator[tuple[AsyncWeb3[Any], str]]:
    """A connection to `rpc_url` and the deployer key from `KASSA_DEPLOYER_KEY`, for the
    deployments of `kassa contracts deploy`; disconnects afterwards."""
    deployer_key = os.environ.get(DEPLOYER_KEY_ENV, "").strip()
    if not deployer_key:
        raise DeployerKeyMissing(
            f"set {DEPLOYER_KEY_ENV} to the private key of a funded account to deploy with"
        )
    keep_out_of_logs(deployer_key)
    w3 = AsyncWeb3(AsyncHTTPProvider(rpc_url))
    # Some EVM chains (proof-of-authority ones) put more than 32 bytes in a block's extraData,
    # which web3 refuses unless this middleware renames the field; it is harmless elsewhere.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        yield w3, deployer_key
    finally:
        await w3.provider.disconnect()


async def deploy_from_cli(
    rpc_url: str, owner: str, signers: list[str], fee_recipient: str | None
) -> str:
    """`kassa contracts deploy`: deploy KassaCheckout with the key in `KASSA_DEPLOYER_KEY`."""
    async with cli_deployer(rpc_url) as (w3, deployer_key):
        return await deploy_checkout_contract(w3, deployer_key, owner, signers, fee_recipient)
