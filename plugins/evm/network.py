"""One EVM chain with a deployed KassaCheckout, as the core's `Network` protocol wants it.

Payments are EIP-712 signed intents executed by the contract; the chain shows them as
`PaymentReceived` logs. Everything EVM-shaped (checksum addresses, 0x hashes, the zero
address for the native coin, EIP-681 URIs, ERC-20 approvals) stays in this plugin: the core
sees opaque strings.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from eth_account import Account
from eth_utils import is_address, keccak, to_checksum_address
from hexbytes import HexBytes
from pydantic import ConfigDict, Field, SecretStr, ValidationError
from web3 import AsyncWeb3
from web3.exceptions import BlockNotFound, TransactionNotFound

from app.config import NetworkSettings
from app.logs import keep_out_of_logs
from app.networks import (
    Block,
    ChainTransfer,
    FinalityPolicy,
    HealthCheck,
    NetworkNotice,
    Observation,
    PaymentTerms,
    PluginError,
    PreparedPayment,
    ScanRangeTooLarge,
    Token,
    TransferRequest,
    WantedTransfer,
)
from plugins.evm import health
from plugins.evm.contract import (
    CHECKOUT_CONTRACT,
    NATIVE_TOKEN,
    PAYMENT_RECEIVED_TOPIC,
    AdminEvent,
    PaymentIntent,
    PaymentReceived,
    admin_event_topics,
    checkout_abi,
    decode_admin_event,
    decode_payment_received,
    encode_pay_call,
    session_ref,
    sign_intent,
)
from plugins.evm.rpc import RpcPool

_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
T = TypeVar("T")

# ERC-20 `Transfer(from indexed, to indexed, value)`: deposits and refunds are found by it.
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
_ERC20_TRANSFER_SELECTOR = "0xa9059cbb"
# Blocks fetched at once while looking for native-coin refunds (whole blocks, so few at once:
# a range is read in batches of this many, never all at once).
_BLOCK_CONCURRENCY = 8


def address_topic(address: str) -> str:
    """An address as a 32-byte log topic."""
    return "0x" + "00" * 12 + address[2:].lower()


# Decimal places of a payment amount in an EVM network's native coin (18 decimals on chain).
NATIVE_DISPLAY_DECIMALS = 6


@dataclass(frozen=True)
class ChainSpec:
    """The fixed facts of an EVM network a plugin ships."""

    key: str
    chain_id: int
    name: str
    testnet: bool
    native_symbol: str
    native_name: str
    confirmations: int
    explorer_url: str
    max_log_range: int = 2_000
    poll_interval: float = 4.0
    poa: bool = False
    # Wait for the node's `finalized` tag by default (rollups: the batch is final on L1).
    finalized_tag: bool = False
    # The chain's own public RPC, offered to wallets by `wallet_addEthereumChain`.
    public_rpc_url: str = ""
    # A local chain `kassa dev` can start (anvil) with this chain id.
    devnet: bool = False


class EvmNetworkSettings(NetworkSettings):
    """`[networks.KEY]` for an EVM network: the core's fields plus these (unknown ones fail)."""

    model_config = ConfigDict(extra="forbid")

    rpc_urls: list[SecretStr] = Field(
        min_length=1, description="JSON-RPC URLs, tried in order (failover); may hold API keys."
    )
    contract_address: str = Field(description="The deployed KassaCheckout on this network.")
    signer_key: SecretStr | None = Field(
        default=None, description="Intent-signer private key (or signer_key_file)."
    )
    signer_key_file: Path | None = Field(
        default=None, description="File holding the intent-signer private key."
    )
    chainlink_feeds: dict[str, str] = Field(
        default_factory=dict, description='Chainlink aggregators by pair, e.g. {"XYZ/USD": "0x…"}.'
    )
    max_log_range: int | None = Field(default=None, ge=1)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    rpc_failback_seconds: float = Field(
        default=30.0, ge=0, description="After a failover, return to the first URL this soon."
    )
    public_rpc_url: str | None = Field(
        default=None, description="RPC URL wallets may add the chain with (no API keys)."
    )
    test_wallet: str | None = Field(
        default=None,
        description="Dev mode only: a node-unlocked account the test-wallet button pays from.",
    )
    deposit_factory: str | None = Field(
        default=None,
        description="The deployed KassaDepositFactory: payments get deposit addresses.",
    )
    fee_recipient: str | None = Field(
        default=None,
        description="Where deposit addresses send the gateway fee (needed when a fee is set).",
    )
    sweeper_key: SecretStr | None = Field(
        default=None, description="Gas key that sweeps deposit addresses (or sweeper_key_file)."
    )
    sweeper_key_file: Path | None = Field(
        default=None, description="File holding the sweeper's gas key."
    )

    def signer_secret(self) -> str | None:
        """The signer key from the setting or its file; never logged."""
        return _secret(self.signer_key, self.signer_key_file)

    def sweeper_secret(self) -> str | None:
        """The sweeper's gas key from the setting or its file; never logged."""
        return _secret(self.sweeper_key, self.sweeper_key_file)

    def rpc_url_values(self) -> list[str]:
        """The URLs, which may carry API keys: from now on logs never show them."""
        urls = [url.get_secret_value() for url in self.rpc_urls]
        keep_out_of_logs(*urls)
        return urls


def _secret(value: SecretStr | None, path: Path | None) -> str | None:
    """A key from its setting or its file; from now on logs never show it."""
    if value is not None:
        secret = value.get_secret_value().strip()
    elif path is not None:
        secret = path.read_text().strip()
    else:
        return None
    keep_out_of_logs(secret)
    return secret


def _checksum(key: str, name: str, value: str) -> str:
    try:
        return to_checksum_address(value)
    except ValueError:
        raise PluginError(f"network {key!r}: {name} is not an address") from None


def evm_settings(key: str, config: NetworkSettings) -> EvmNetworkSettings:
    """The operator's block for `key`, validated as an EVM network's (PluginError if wrong)."""
    try:
        return EvmNetworkSettings.model_validate(config.plugin_fields())
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        raise PluginError(f"network {key!r}: {problems}") from None


@functools.lru_cache(maxsize=4096)
def _checksum_address(address: str) -> str | None:
    """EIP-55 spelling, or None for no address; remembered: checking and spelling cost a
    keccak each, more than the rest of a session's option checks, and a merchant's few
    payout addresses are checked at every session creation."""
    return str(to_checksum_address(address)) if is_address(address) else None


def _hex(value: Any) -> str:
    return HexBytes(value).to_0x_hex()


def _block(data: Any) -> Block:
    return Block(
        number=int(data["number"]),
        hash=_hex(data["hash"]),
        parent_hash=_hex(data["parentHash"]),
        timestamp=int(data["timestamp"]),
    )


def observation_of(log: PaymentReceived) -> Observation:
    """A decoded contract log in the core's terms (native coin: the zero address → None)."""
    assert log.transaction_hash and log.block_hash and log.block_number is not None
    return Observation(
        tx_id=log.transaction_hash,
        position=int(log.log_index or 0),
        block_number=log.block_number,
        block_hash=log.block_hash,
        reference="0x" + log.payment_ref.hex(),
        session_reference="0x" + log.session_ref.hex(),
        payer=log.payer,
        token=None if log.token == NATIVE_TOKEN else log.token,
        amount=log.amount,
        recipient=log.recipient,
        fee=log.fee,
    )


def first_clear_bit(flags: int, bit: int) -> int:
    """The first bit at or above `bit` that is 0 in the 256-bit word `flags`; 256 when every
    one of them is set."""
    rest = flags >> bit
    return bit + ((rest + 1) & ~rest).bit_length() - 1


def eip681_uri(chain_id: int, contract: str, token: Token, total: int, value: int) -> str:
    """A payment-request URI (EIP-681): the coin to the contract, or the token approval."""
    if token.address is None:
        return f"ethereum:{contract}@{chain_id}?value={value}"
    return f"ethereum:{token.address}@{chain_id}/approve?address={contract}&uint256={total}"


class EvmNetwork:
    """One EVM chain with a deployed KassaCheckout (satisfies `app.networks.Network`)."""

    pay_template = "evm/pay.html"
    checkout_scripts: tuple[str, ...] = ("plugins/evm/wallet.js",)
    # `app.networks.RefundNetwork`: the merchant's browser wallet sends a refund.
    transfer_template = "evm/transfer.html"

    def __init__(self, spec: ChainSpec, settings: EvmNetworkSettings) -> None:
        signer = settings.signer_secret()
        if not signer:
            raise PluginError(f"network {spec.key!r} needs signer_key or signer_key_file")
        self.spec = spec
        self.key = spec.key
        self.chain_id = spec.chain_id
        self.chain_ref = f"eip155:{spec.chain_id}"
        self.name = spec.name
        self.testnet = spec.testnet
        self.native_currency = Token(
            network=spec.key,
            symbol=spec.native_symbol,
            decimals=18,
            name=spec.native_name,
            # Amounts rounded up to a millionth of a coin (at most a fraction of a cent of
            # ETH): "0.027028 ETH", not eighteen digits.
            display_decimals=NATIVE_DISPLAY_DECIMALS,
        )
        self.contract_address = _checksum(spec.key, "contract_address", settings.contract_address)
        self.finality = FinalityPolicy(
            spec.confirmations,
            require_finalized_tag=spec.finalized_tag,
            finalized_tag_only=spec.finalized_tag,
        )
        self.max_scan_range = settings.max_log_range or spec.max_log_range
        self.poll_interval = spec.poll_interval
        self.explorer_url = spec.explorer_url
        self.public_rpc_url = settings.public_rpc_url or spec.public_rpc_url
        self.test_wallet = (
            _checksum(spec.key, "test_wallet", settings.test_wallet)
            if settings.test_wallet
            else None
        )
        self._signer_key = signer
        self.signer_address = Account.from_key(signer).address
        self.rpc = RpcPool(
            spec.key,
            settings.rpc_url_values(),
            settings.rpc_timeout_seconds,
            poa=spec.poa,
            failback_after=settings.rpc_failback_seconds,
        )

    @staticmethod
    def from_settings(spec: ChainSpec, config: NetworkSettings) -> EvmNetwork:
        """An `EvmNetwork`, or an `EvmDepositNetwork` when a deposit factory is configured."""
        settings = evm_settings(spec.key, config)
        if settings.deposit_factory:
            from plugins.evm.deposit_network import EvmDepositNetwork

            return EvmDepositNetwork(spec, settings)
        return EvmNetwork(spec, settings)

    def __repr__(self) -> str:  # never show the key or the URLs
        return f"EvmNetwork({self.key!r}, chain_id={self.chain_id})"

    def rpc_generation(self) -> int:
        return self.rpc.generation

    # ------------------------------------------------------------------ blocks

    async def head(self) -> Block:
        return _block(await self.rpc.call("head", lambda w3: w3.eth.get_block("latest")))

    async def finalized_head(self) -> Block | None:
        try:
            data = await self.rpc.call("finalized", lambda w3: w3.eth.get_block("finalized"))
        except BlockNotFound:
            return None
        return _block(data)

    async def chain_time(self) -> int:
        """The pending block's timestamp: the node's idea of the next block, so no block mined
        from now on can be older."""
        data = await self.rpc.call("pending", lambda w3: w3.eth.get_block("pending"))
        return int(data["timestamp"])

    async def block(self, number: int) -> Block | None:
        try:
            data = await self.rpc.call(f"block {number}", lambda w3: w3.eth.get_block(number))
        except BlockNotFound:
            return None
        return None if data is None else _block(data)

    # ------------------------------------------------------------------ observing

    async def raw_logs(
        self, log_filter: dict[str, Any], from_block: int, to_block: int
    ) -> list[Any]:
        """`eth_getLogs` over the range, split in halves while the provider says it's too big."""
        if from_block > to_block:
            return []
        params = {**log_filter, "fromBlock": from_block, "toBlock": to_block}
        try:
            return list(
                await self.rpc.call(
                    f"logs {from_block}-{to_block}",
                    lambda w3: w3.eth.get_logs(params),  # type: ignore[arg-type]
                )
            )
        except ScanRangeTooLarge:
            if from_block == to_block:
                raise
            # Remember the smaller size, so later scans don't hit the limit again.
            self.max_scan_range = max(1, min(self.max_scan_range, (to_block - from_block + 1) // 2))
            middle = (from_block + to_block) // 2
            return await self.raw_logs(log_filter, from_block, middle) + await self.raw_logs(
                log_filter, middle + 1, to_block
            )

    async def get_logs(self, from_block: int, to_block: int) -> list[PaymentReceived]:
        """The payment contract's `PaymentReceived` logs in the range."""
        log_filter = {"address": self.contract_address, "topics": [PAYMENT_RECEIVED_TOPIC]}
        return self._decode(await self.raw_logs(log_filter, from_block, to_block))

    def _emitted_by_contract(self, entry: Mapping[str, Any]) -> bool:
        """A mined log of the payment contract. The `address` filter is only asked of the
        node: a buggy or hostile provider may answer with any contract's logs, and anyone
        can deploy a contract that emits look-alike events."""
        return not entry.get("removed") and (
            to_checksum_address(entry["address"]) == self.contract_address
        )

    def _decoded(
        self, raw: Sequence[Mapping[str, Any]], decode: Callable[[Mapping[str, Any]], T]
    ) -> list[T]:
        """`decode` of each log the payment contract emitted, skipping its other events."""
        decoded = []
        for entry in raw:
            if not self._emitted_by_contract(entry):
                continue
            try:
                decoded.append(decode(entry))
            except ValueError:
                continue  # another event of the contract
        return decoded

    def _decode(self, raw: Sequence[Mapping[str, Any]]) -> list[PaymentReceived]:
        return self._decoded(raw, decode_payment_received)

    async def observe(self, from_block: int, to_block: int) -> list[Observation]:
        return [observation_of(log) for log in await self.get_logs(from_block, to_block)]

    async def observe_with_notices(
        self, from_block: int, to_block: int
    ) -> tuple[list[Observation], list[NetworkNotice]]:
        """Payments and the payment contract's admin events (signers, fee recipient, pause,
        ownership, rescue) from one `eth_getLogs`: its topic0 list asks for all of them."""
        topics = [[PAYMENT_RECEIVED_TOPIC, *admin_event_topics()]]
        log_filter = {"address": self.contract_address, "topics": topics}
        raw = await self.raw_logs(log_filter, from_block, to_block)
        return [observation_of(log) for log in self._decode(raw)], self._notices(raw)

    def _notices(self, raw: Sequence[Mapping[str, Any]]) -> list[NetworkNotice]:
        """The admin events among `raw`, as sentences for the operator."""
        return [
            NetworkNotice(
                tx_id=event.transaction_hash,
                position=event.log_index,
                block_number=event.block_number,
                block_hash=event.block_hash,
                message=self._describe(event),
            )
            for event in self._decoded(raw, decode_admin_event)
        ]

    def _describe(self, event: AdminEvent) -> str:
        """The event's sentence, saying whether it concerns this gateway's own signer."""
        message = f"payment contract {self.contract_address}: {event.describe()}"
        signer = event.args.get("signer")
        if event.name == "SignerAdded" and signer != self.signer_address:
            message += (
                " — not this gateway's signer: whoever holds its key can authorise payments "
                "and use up session numbers; remove it unless you added it"
            )
        elif event.name == "SignerRemoved" and signer == self.signer_address:
            message += " — this gateway's own signer: every payment it prepares now reverts"
        return message

    async def observe_transaction(self, tx_id: str) -> list[Observation]:
        tx_hash = self.normalize_tx_id(tx_id)
        try:
            receipt = await self.rpc.call(
                f"receipt {tx_hash}",
                lambda w3: w3.eth.get_transaction_receipt(tx_hash),  # type: ignore[arg-type]
            )
        except TransactionNotFound:
            return []
        if receipt is None or receipt.get("blockHash") is None or receipt.get("status") != 1:
            return []
        return [observation_of(log) for log in self._decode(receipt["logs"])]

    # ------------------------------------------------------------------ payments

    def normalize_address(self, address: str) -> str:
        checksum = _checksum_address(address) if isinstance(address, str) else None
        if checksum is None:
            raise ValueError(f"{address!r} is not an address on {self.name}")
        if checksum == NATIVE_TOKEN:
            raise ValueError("the zero address cannot receive payments")
        return checksum

    def normalize_tx_id(self, tx_id: str) -> str:
        if not isinstance(tx_id, str) or not _TX_HASH.match(tx_id):
            raise ValueError(f"{tx_id!r} is not a transaction hash")
        return tx_id.lower()

    async def first_unused_session_number(self, start: int) -> int:
        """The contract's session bitmap, read a word (256 numbers) at a time.

        The loop ends: every used number was paid on chain with a signed intent, and the core
        continues after the number returned here, so each used word is read once.
        """
        number = start
        while True:
            word, bit = divmod(number, 256)

            async def read(w3: AsyncWeb3[Any], word: int = word) -> int:
                contract = w3.eth.contract(
                    address=to_checksum_address(self.contract_address), abi=checkout_abi()
                )
                return int(await contract.functions.sessionBitmap(word).call())

            free = first_clear_bit(await self.rpc.call(f"sessionBitmap {word}", read), bit)
            if free < 256:
                return word * 256 + free
            number = (word + 1) * 256

    def sign_intent(self, intent: PaymentIntent) -> bytes:
        return sign_intent(intent, self.chain_id, self.contract_address, self._signer_key)

    async def prepare_payment(self, terms: PaymentTerms) -> PreparedPayment:
        """A signed intent and its `pay(intent, signature)` call (after `approve` for tokens)."""
        intent = PaymentIntent(
            session_ref=session_ref(terms.session_number),
            payment_ref=secrets.token_bytes(32),
            token=terms.token.address or NATIVE_TOKEN,
            amount=terms.amount,
            recipient=terms.recipient,
            fee=terms.fee,
            deadline=terms.deadline,
        )
        signature = self.sign_intent(intent)
        call = encode_pay_call(intent, signature, self.contract_address)
        total = intent.total
        approve = (
            None
            if terms.token.address is None
            else {
                "token": terms.token.address,
                "spender": self.contract_address,
                "amount": str(total),
            }
        )
        return PreparedPayment(
            reference="0x" + intent.payment_ref.hex(),
            session_reference="0x" + intent.session_ref.hex(),
            authorization="0x" + signature.hex(),
            wallet_request={
                "to": call["to"],
                "data": call["data"],
                "value": str(call["value"]),
                "approve": approve,
            },
            payment_uri=eip681_uri(
                self.chain_id, self.contract_address, terms.token, total, call["value"]
            ),
        )

    # ------------------------------------------------------------------ refunds

    async def find_transfers(
        self, wanted: Sequence[WantedTransfer], from_block: int, to_block: int
    ) -> list[ChainTransfer]:
        """ERC-20 `Transfer` logs of the wanted tokens between the wanted addresses (one
        `eth_getLogs` for all of them); for the native coin, the blocks' transactions between
        wanted addresses that succeeded, each block fetched once for all of them (a plain
        value transfer leaves no log; one sent by a contract wallet's internal call is not
        seen)."""
        if from_block > to_block or not wanted:
            return []
        exact = {(w.token, w.sender, w.recipient) for w in wanted}
        found: list[ChainTransfer] = []
        tokens = sorted({w.token for w in wanted if w.token is not None})
        if tokens:
            token_wanted = [w for w in wanted if w.token is not None]
            logs = await self.raw_logs(
                {
                    "address": tokens,
                    "topics": [
                        TRANSFER_TOPIC,
                        sorted({address_topic(w.sender) for w in token_wanted}),
                        sorted({address_topic(w.recipient) for w in token_wanted}),
                    ],
                },
                from_block,
                to_block,
            )
            # The filter is only asked of the node, and matches every sender with every
            # recipient: keep the pairs wanted.
            found += [
                t
                for t in map(_token_transfer, logs)
                if t is not None and (t.token, t.sender, t.recipient) in exact
            ]
        native = {(w.sender, w.recipient) for w in wanted if w.token is None}
        if native:
            found += await self._native_transfers(native, from_block, to_block)
        return sorted(found, key=lambda t: t.block_number)

    async def _native_transfers(
        self, pairs: set[tuple[str, str]], from_block: int, to_block: int
    ) -> list[ChainTransfer]:
        """Whole blocks, `_BLOCK_CONCURRENCY` at a time (never the whole range at once)."""

        async def fetch(number: int) -> Any:
            return await self.rpc.call(
                f"block {number} with transactions",
                lambda w3: w3.eth.get_block(number, full_transactions=True),
            )

        found: list[ChainTransfer] = []
        for first in range(from_block, to_block + 1, _BLOCK_CONCURRENCY):
            last = min(to_block, first + _BLOCK_CONCURRENCY - 1)
            blocks = await asyncio.gather(*(fetch(n) for n in range(first, last + 1)))
            for block in blocks:
                for tx in block["transactions"]:
                    transfer = _native_transfer(block, tx)
                    if transfer is None or (transfer.sender, transfer.recipient) not in pairs:
                        continue
                    if await self._succeeded(transfer.tx_id):
                        found.append(transfer)
        return found

    async def _succeeded(self, tx_hash: str) -> bool:
        def receipt(w3: AsyncWeb3[Any]) -> Any:
            return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]

        answer = await self.rpc.call(f"receipt {tx_hash}", receipt)
        return bool(answer.get("status") == 1)

    async def locate_transfer(self, tx_id: str, position: int) -> ChainTransfer | None:
        """The receipt says where the node's canonical chain has the transaction now: the
        ERC-20 `Transfer` log at `position` (a log index), else the transaction's own value
        (`position` is then its index in the block)."""
        try:
            receipt = await self.rpc.call(
                f"receipt {tx_id}",
                lambda w3: w3.eth.get_transaction_receipt(tx_id),  # type: ignore[arg-type]
            )
        except TransactionNotFound:
            return None
        if receipt is None or receipt.get("blockHash") is None or receipt.get("status") != 1:
            return None
        for entry in receipt["logs"]:
            if int(entry["logIndex"]) == position:
                transfer = _token_transfer(entry)
                if transfer is not None:
                    return transfer
        if int(receipt["transactionIndex"]) != position:
            return None
        try:
            tx = await self.rpc.call(
                f"transaction {tx_id}",
                lambda w3: w3.eth.get_transaction(tx_id),  # type: ignore[arg-type]
            )
        except TransactionNotFound:
            return None
        block = {"number": receipt["blockNumber"], "hash": receipt["blockHash"]}
        return _native_transfer(block, tx)

    def transfer_request(self, token: str | None, recipient: str, amount: int) -> TransferRequest:
        """The transaction a wallet sends (the coin, or the token's `transfer`), and EIP-681."""
        if token is None:
            return TransferRequest(
                wallet_request={"to": recipient, "data": "0x", "value": str(amount)},
                uri=f"ethereum:{recipient}@{self.chain_id}?value={amount}",
            )
        data = _ERC20_TRANSFER_SELECTOR + address_topic(recipient)[2:] + f"{amount:064x}"
        return TransferRequest(
            wallet_request={"to": token, "data": data, "value": "0"},
            uri=f"ethereum:{token}@{self.chain_id}/transfer?address={recipient}&uint256={amount}",
        )

    # ------------------------------------------------------------------ facts

    def explorer_tx_url(self, tx_id: str) -> str:
        return f"{self.explorer_url}/tx/{tx_id}" if self.explorer_url else ""

    def public_facts(self) -> dict[str, Any]:
        return {"chain_id": self.chain_id, "contract_address": self.contract_address}

    async def health(self) -> list[HealthCheck]:
        """Each RPC URL answers on this chain, then (asked of a node that does) what payments
        rely on: see `plugins.evm.health`."""
        checks, w3 = await health.rpc_checks(self.rpc, self.chain_id)
        return checks + await self.contract_checks(w3)

    async def contract_checks(self, w3: AsyncWeb3[Any] | None) -> list[HealthCheck]:
        """The payment contract is this version's KassaCheckout and our signer is one of its
        signers (asked only of a contract that passed: anything else would say nothing)."""
        contract = await health.guarded(
            health.PAYMENT_CONTRACT,
            w3,
            self.rpc.timeout,
            health.code_check(
                health.PAYMENT_CONTRACT,
                self.contract_address,
                CHECKOUT_CONTRACT,
                "contract_address",
            ),
        )
        if not contract.ok:
            return [
                contract,
                health.skipped(health.INTENT_SIGNER, "the payment contract check failed"),
            ]
        signer = await health.guarded(
            health.INTENT_SIGNER,
            w3,
            self.rpc.timeout,
            health.signer_check(self.contract_address, self.signer_address),
        )
        return [contract, signer]

    async def close(self) -> None:
        await self.rpc.close()


def _native_transfer(block: Mapping[str, Any], tx: Mapping[str, Any]) -> ChainTransfer | None:
    """A transaction carrying the native coin to an address (not a contract creation)."""
    to = tx.get("to")
    if to is None or int(tx["value"]) == 0:
        return None
    return ChainTransfer(
        tx_id=HexBytes(tx["hash"]).to_0x_hex(),
        position=int(tx["transactionIndex"]),
        block_number=int(block["number"]),
        block_hash=HexBytes(block["hash"]).to_0x_hex(),
        sender=to_checksum_address(tx["from"]),
        recipient=to_checksum_address(to),
        token=None,
        amount=int(tx["value"]),
    )


def _token_transfer(entry: Mapping[str, Any]) -> ChainTransfer | None:
    """An ERC-20 `Transfer` log (ERC-721's, with a fourth topic, is no money)."""
    topics = [HexBytes(topic) for topic in entry["topics"]]
    data = HexBytes(entry["data"])
    if entry.get("removed") or len(topics) != 3 or len(data) != 32:
        return None
    if topics[0].to_0x_hex() != TRANSFER_TOPIC:
        return None
    return ChainTransfer(
        tx_id=HexBytes(entry["transactionHash"]).to_0x_hex(),
        position=int(entry["logIndex"]),
        block_number=int(entry["blockNumber"]),
        block_hash=HexBytes(entry["blockHash"]).to_0x_hex(),
        sender=to_checksum_address(topics[1][-20:]),
        recipient=to_checksum_address(topics[2][-20:]),
        token=to_checksum_address(entry["address"]),
        amount=int.from_bytes(data, "big"),
    )
