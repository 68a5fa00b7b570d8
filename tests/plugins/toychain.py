"""A non-EVM network plugin that lives in the tests only: the proof that `app/` is chain-neutral.

`toychain` looks nothing like the EVM on purpose: base58 addresses (32–44 characters, case
sensitive), 88-character base58 transaction ids, no contract, no integer chain id. Payments
are plain transfers to the merchant that carry a memo with the payment's reference (as
Solana or Stellar payments do); the chain is an in-memory list of blocks that can be mined
and reorganised. docs/plugin_hooks.md walks through this file.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, ValidationError
from quart import Blueprint

from app.config import NetworkSettings
from app.hookspecs import hookimpl
from app.networks import (
    Block,
    ChainTransfer,
    FinalityPolicy,
    HealthCheck,
    Network,
    Observation,
    PaymentTerms,
    PluginError,
    PreparedPayment,
    Token,
    TransferRequest,
    WantedTransfer,
)
from app.quotes import FixedRateSource

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, remainder = divmod(number, 58)
        digits = BASE58[remainder] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


def is_base58(text: str, lengths: range) -> bool:
    return isinstance(text, str) and len(text) in lengths and all(c in BASE58 for c in text)


def new_address() -> str:
    return base58(secrets.token_bytes(32))


def new_tx_id() -> str:
    """88 characters, like a base58 ed25519 signature (64 bytes with a high first byte)."""
    return base58(b"\xff" + secrets.token_bytes(63))


ADDRESS_LENGTHS = range(32, 45)
TX_ID_LENGTHS = range(87, 89)


# ----------------------------------------------------------------------------- the chain


@dataclass
class Transfer:
    """A plain transfer with a memo; `token` None is the native TOY coin."""

    tx_id: str
    sender: str
    recipient: str
    token: str | None
    amount: int
    memo: str


@dataclass
class ToyBlock:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    transfers: list[Transfer] = field(default_factory=list)


class ToyChain:
    """An in-memory chain: `send` queues a transfer, `mine` seals blocks, `reorg` replaces
    the newest blocks (their transfers dropped unless kept)."""

    def __init__(self, start_time: int = 1_700_000_000) -> None:
        self.blocks: list[ToyBlock] = []
        self.pending: list[Transfer] = []
        self.time = start_time
        # Tests switch the "node" off to see a failing health check.
        self.reachable = True
        self._seal()

    def _seal(self) -> ToyBlock:
        number = len(self.blocks)
        parent = self.blocks[-1].hash if self.blocks else "1" * 44
        self.time += 2
        block = ToyBlock(number, new_address(), parent, self.time, self.pending)
        self.pending = []
        self.blocks.append(block)
        return block

    def send(self, sender: str, recipient: str, token: str | None, amount: int, memo: str) -> str:
        transfer = Transfer(new_tx_id(), sender, recipient, token, amount, memo)
        self.pending.append(transfer)
        return transfer.tx_id

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self._seal()

    def reorg(self, depth: int, keep: bool = False) -> None:
        """Replace the last `depth` blocks with new ones; `keep` re-includes their transfers
        (in the first new block), else they vanish."""
        dropped = self.blocks[-depth:]
        del self.blocks[-depth:]
        if keep:
            self.pending = [t for block in dropped for t in block.transfers] + self.pending
        self.mine(depth)

    @property
    def head(self) -> ToyBlock:
        return self.blocks[-1]


# Chains by name: the operator's settings name the chain a network talks to.
CHAINS: dict[str, ToyChain] = {}


# ----------------------------------------------------------------------------- the network


class ToySettings(NetworkSettings):
    """`[networks.toychain]`: the core's fields plus the chain to talk to; nothing else."""

    model_config = ConfigDict(extra="forbid")

    chain: str = Field(min_length=1)


class ToyNetwork:
    """`toychain` as the core's `Network` protocol wants it."""

    key = "toychain"
    name = "Toy Chain"
    testnet = True
    finality = FinalityPolicy(confirmations=3)
    max_scan_range = 50
    poll_interval = 0.05
    explorer_url = "https://explorer.toychain.invalid"
    pay_template = "toy/pay.html"
    checkout_scripts: tuple[str, ...] = ()
    transfer_template = ""  # `RefundNetwork`: no wallet button; refunds are recognised

    def __init__(self, chain_name: str) -> None:
        self.chain = CHAINS[chain_name]
        self.chain_ref = f"toy:{chain_name}"
        # What refund recognition cost (tests read them): blocks searched, transfers located.
        self.blocks_read = 0
        self.located = 0
        self.native_currency = Token(
            network=self.key, symbol="TOY", decimals=9, name="Toy", display_decimals=4
        )

    def __repr__(self) -> str:
        return f"ToyNetwork({self.chain_ref!r})"

    @staticmethod
    def _block(block: ToyBlock) -> Block:
        return Block(block.number, block.hash, block.parent_hash, block.timestamp)

    async def head(self) -> Block:
        return self._block(self.chain.head)

    async def finalized_head(self) -> Block | None:
        return None  # toychain has no finality notion of its own: depth decides

    async def chain_time(self) -> int:
        return self.chain.time + 2  # the next block's timestamp

    async def block(self, number: int) -> Block | None:
        if 0 <= number < len(self.chain.blocks):
            return self._block(self.chain.blocks[number])
        return None

    def _observations(self, block: ToyBlock, transfer: Transfer) -> list[Observation]:
        # The memo is "PAYMENT_REF/SESSION_REF"; other transfers are not payments.
        reference, sep, session_reference = transfer.memo.partition("/")
        if not sep:
            return []
        position = block.transfers.index(transfer)
        return [
            Observation(
                tx_id=transfer.tx_id,
                position=position,
                block_number=block.number,
                block_hash=block.hash,
                reference=reference,
                session_reference=session_reference,
                payer=transfer.sender,
                token=transfer.token,
                amount=transfer.amount,
                recipient=transfer.recipient,
                fee=0,
            )
        ]

    async def observe(self, from_block: int, to_block: int) -> list[Observation]:
        found: list[Observation] = []
        for block in self.chain.blocks[max(0, from_block) : to_block + 1]:
            for transfer in block.transfers:
                found.extend(self._observations(block, transfer))
        return found

    async def observe_transaction(self, tx_id: str) -> list[Observation]:
        for block in self.chain.blocks:
            for transfer in block.transfers:
                if transfer.tx_id == tx_id:
                    return self._observations(block, transfer)
        return []

    def rpc_generation(self) -> int:
        return 0  # one in-memory "node": answers always chain

    def normalize_address(self, address: str) -> str:
        # Case matters in base58: never lower-case, only check.
        if not is_base58(address, ADDRESS_LENGTHS):
            raise ValueError(f"{address!r} is not a toychain address")
        return address

    def normalize_tx_id(self, tx_id: str) -> str:
        if not is_base58(tx_id, TX_ID_LENGTHS):
            raise ValueError(f"{tx_id!r} is not a toychain transaction id")
        return tx_id

    async def prepare_payment(self, terms: PaymentTerms) -> PreparedPayment:
        if terms.fee:
            raise PluginError("toychain payments carry no gateway fee")
        reference = base58(secrets.token_bytes(16))
        session_reference = f"s{terms.session_number}"
        memo = f"{reference}/{session_reference}"
        token = f"&token={terms.token.address}" if terms.token.address else ""
        return PreparedPayment(
            reference=reference,
            session_reference=session_reference,
            wallet_request={"to": terms.recipient, "memo": memo, "amount": str(terms.amount)},
            payment_uri=f"toy:{terms.recipient}?amount={terms.amount}{token}&memo={memo}",
        )

    def explorer_tx_url(self, tx_id: str) -> str:
        return f"{self.explorer_url}/tx/{tx_id}"

    def public_facts(self) -> dict[str, Any]:
        return {"memo_payments": True}

    async def health(self) -> list[HealthCheck]:
        if not self.chain.reachable:
            return [HealthCheck("node", False, "the chain does not answer: start its node")]
        answer = f"{self.chain_ref} answers at block {self.chain.head.number}"
        return [HealthCheck("node", True, answer)]

    async def close(self) -> None:
        return None

    # `RefundNetwork`: a refund is any transfer between the two addresses (memo or not).
    async def find_transfers(
        self, wanted: Sequence[WantedTransfer], from_block: int, to_block: int
    ) -> list[ChainTransfer]:
        self.blocks_read += len(self.chain.blocks[max(0, from_block) : to_block + 1])
        exact = {(w.token, w.sender, w.recipient) for w in wanted}
        return [
            self._transfer(block, position)
            for block in self.chain.blocks[max(0, from_block) : to_block + 1]
            for position, transfer in enumerate(block.transfers)
            if (transfer.token, transfer.sender, transfer.recipient) in exact
        ]

    async def locate_transfer(self, tx_id: str, position: int) -> ChainTransfer | None:
        self.located += 1
        for block in self.chain.blocks:
            if position < len(block.transfers) and block.transfers[position].tx_id == tx_id:
                return self._transfer(block, position)
        return None

    @staticmethod
    def _transfer(block: ToyBlock, position: int) -> ChainTransfer:
        transfer = block.transfers[position]
        return ChainTransfer(
            tx_id=transfer.tx_id,
            position=position,
            block_number=block.number,
            block_hash=block.hash,
            sender=transfer.sender,
            recipient=transfer.recipient,
            token=transfer.token,
            amount=transfer.amount,
        )

    def transfer_request(self, token: str | None, recipient: str, amount: int) -> TransferRequest:
        suffix = f"&token={token}" if token else ""
        return TransferRequest(
            wallet_request={"to": recipient, "amount": str(amount), "token": token},
            uri=f"toy:{recipient}?amount={amount}{suffix}",
        )

    # What a wallet does with a prepared payment (tests only).
    def pay(self, prepared: PreparedPayment, payer: str, terms_token: str | None) -> str:
        request = prepared.wallet_request
        return self.chain.send(
            payer, request["to"], terms_token, int(request["amount"]), request["memo"]
        )


# ----------------------------------------------------------------------------- the plugin

TOY_USD = Token(
    network="toychain",
    symbol="TUSD",
    decimals=6,
    address="TUSDxmPLe1111111111111111111111111",
    name="Toy Dollar",
    display_decimals=2,
)

_HERE = Path(__file__).resolve().parent
blueprint = Blueprint("toy", __name__, template_folder=str(_HERE / "toy_templates"))


class ToyPlugin:
    """The hooks: one network, its token, its prices, its pay-step template."""

    @hookimpl
    def register_networks(self, settings: Any) -> list[Network]:
        config = settings.networks.get(ToyNetwork.key)
        if config is None:
            return []
        try:
            toy = ToySettings.model_validate(config.plugin_fields())
        except ValidationError as error:
            raise PluginError(f"network 'toychain': {error}") from None
        if toy.chain not in CHAINS:
            raise PluginError(f"network 'toychain': no chain named {toy.chain!r}")
        return [ToyNetwork(toy.chain)]

    @hookimpl
    def register_tokens(self, network: Network) -> list[Token] | None:
        return [TOY_USD] if isinstance(network, ToyNetwork) else None

    @hookimpl
    def register_price_sources(self) -> list[Any]:
        return [FixedRateSource({"TOY/USD": Decimal("0.5"), "TUSD/USD": 1}, name="toy")]

    @hookimpl
    def register_blueprints(self) -> list[Any]:
        return [blueprint]
