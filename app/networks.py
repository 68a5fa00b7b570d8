"""The chain-neutral plugin contract: what a network plugin provides, and the startup registry.

The core knows no chain: not by name, not by id, not by address format. A network plugin
returns objects that satisfy `Network`; the core hands it `PaymentTerms` (what must be paid)
and gets back a `PreparedPayment` (opaque references and what a wallet does); while
watching, the network reports `Observation`s in a block range and the core matches them to
payments by comparing opaque strings exactly. Addresses, references, transaction ids and
block hashes are strings the core stores and compares, never parses.

`build_registry()` collects networks, tokens and price sources once at startup and fails
loudly on duplicates, so a misconfiguration never reaches a shopper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pluggy

    from app.config import Settings


class PluginError(RuntimeError):
    """A plugin or its configuration is unusable; raised at startup."""


class RpcError(RuntimeError):
    """A node could not answer (after failover and retries); the watcher retries later."""


class ScanRangeTooLarge(RpcError):
    """The node refused a block range as too large; the network splits it."""


@dataclass(frozen=True, slots=True)
class FinalityPolicy:
    """When a block counts as final: `confirmations` deep and/or at or below `finalized`."""

    confirmations: int
    require_finalized_tag: bool = False
    # Only the tag (no depth): `confirmations` is then just what the page shows.
    finalized_tag_only: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """A block header as the watcher needs it; `hash` and `parent_hash` are opaque."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Token:
    """A currency payable on one network. `address` is None for the network's native coin;
    otherwise the network's canonical spelling of the token's identifier (opaque).

    `display_decimals` is how many decimal places a payment amount carries (6 for ETH, 2 for
    a USD stablecoin): amounts are rounded up to it, so shoppers see and send "0.027028 ETH",
    not 18 digits. None means all `decimals`.
    """

    network: str
    symbol: str
    decimals: int
    address: str | None = None
    name: str = ""
    display_decimals: int | None = None

    def __post_init__(self) -> None:
        if self.display_decimals is not None and not 0 <= self.display_decimals <= self.decimals:
            raise ValueError(
                f"{self.symbol} on {self.network}: display_decimals must be between 0 and "
                f"decimals ({self.decimals}), got {self.display_decimals}"
            )

    @property
    def is_native(self) -> bool:
        return self.address is None

    @property
    def payment_decimals(self) -> int:
        """Decimal places of a payment amount: `display_decimals`, else every decimal."""
        return self.decimals if self.display_decimals is None else self.display_decimals


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """What the core decided one payment must be; the network turns it into instructions.

    `session_number` counts the sessions paid on this network (1, 2, …) and is the same for
    every payment of one session, so a chain that can refuse a second payment of a session
    (the EVM contract does) may derive its session reference from it.
    """

    payment_id: str
    session_id: str
    session_number: int
    token: Token
    amount: int  # base units the merchant receives
    fee: int  # base units the operator receives on top
    fee_basis_points: int  # the operator's fee rate (deposit addresses split what arrives)
    recipient: str  # the merchant's payout address, as `normalize_address` spelt it
    deadline: int  # chain time (unix seconds) after which the payment cannot be made


class ObservationKind(StrEnum):
    """What an `Observation` is."""

    INTENT = "intent"  # a payment of prepared terms (e.g. the EVM contract's signed intent)
    TRANSFER = "transfer"  # a plain transfer to a deposit address (any token, any amount)
    SWEEP = "sweep"  # money forwarded from a deposit address to the merchant


@dataclass(frozen=True, slots=True)
class PreparedPayment:
    """The network's answer to `PaymentTerms`; every field is opaque to the core.

    `reference` must be unique per payment on the network: observations carry it and the
    core finds the payment by it. `session_reference` is what observations carry for the
    session. `authorization` is whatever proves the terms (e.g. a signature). `wallet_request`
    is JSON for the pay step's wallet code (the network's own template reads it); the API shows
    its `to`, `data`, `value` and `approve` keys when present. `payment_uri` is what a phone
    wallet opens and the page's QR code holds.
    """

    reference: str
    session_reference: str
    authorization: str = ""
    wallet_request: dict[str, Any] = field(default_factory=dict)
    payment_uri: str = ""
    # Networks with deposit addresses (`DepositNetwork`): where a plain transfer from any
    # wallet or exchange pays, and what the network needs to sweep it later (opaque JSON).
    deposit_address: str = ""
    deposit_terms: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Observation:
    """One payment the chain shows in one block, as the network decoded it.

    `position` orders payments inside a block (the EVM log index), so one transaction may
    carry several. `token` is None for the native coin, else `Token.address`. Every string
    uses the same spelling the network used when it prepared the payment, so the core can
    compare exactly. For a `TRANSFER` (into a deposit address) or a `SWEEP` (out of one),
    `reference` is the deposit address and `session_reference` is "".
    """

    tx_id: str
    position: int
    block_number: int
    block_hash: str
    reference: str
    session_reference: str
    payer: str
    token: str | None
    amount: int
    recipient: str
    fee: int
    kind: ObservationKind = ObservationKind.INTENT


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One answer to "is this usable?", for `kassa doctor`, `kassa networks list` and
    `GET /v1/networks`. `detail` says what was found and, when `ok` is false, how to fix it;
    it never holds a secret (no keys, no RPC URLs: they may carry API keys)."""

    name: str
    ok: bool
    detail: str


@runtime_checkable
class Network(Protocol):
    """One enabled chain, as a network plugin provides it (see docs/plugin_hooks.md).

    `observe` is stateless over a block range; the core watcher owns the cursor, reorg
    handling, confirmations and retries. `chain_ref` names the chain itself (a CAIP-2 id such
    as "eip155:1"); two networks with the same `chain_ref` are a startup error.
    """

    key: str
    chain_ref: str
    name: str
    testnet: bool
    native_currency: Token
    finality: FinalityPolicy
    max_scan_range: int
    poll_interval: float
    explorer_url: str
    # Jinja template (from the plugin's blueprint) for the pay step's wallet part, or "".
    pay_template: str
    # Static files the checkout page loads for that template (`static_url` paths).
    checkout_scripts: tuple[str, ...]

    async def head(self) -> Block:
        """The latest block."""
        ...

    async def finalized_head(self) -> Block | None:
        """The newest block the chain itself calls final, if it has such a notion."""
        ...

    async def chain_time(self) -> int:
        """A time (unix seconds) no block mined from now on can precede, even on a chain
        that mines no blocks while idle (EVM: the pending block's timestamp)."""
        ...

    async def block(self, number: int) -> Block | None:
        """The canonical block at `number`, or None when the node does not have it (yet)."""
        ...

    async def observe(self, from_block: int, to_block: int) -> list[Observation]:
        """Payments in blocks [from_block, to_block] (inclusive), in chain order."""
        ...

    async def observe_transaction(self, tx_id: str) -> list[Observation]:
        """Payments in one transaction if it is in a block now, else [] (the hint path)."""
        ...

    def rpc_generation(self) -> int:
        """Bumped whenever the network switches node (answers before and after may not chain)."""
        ...

    def normalize_address(self, address: str) -> str:
        """The canonical spelling of a payout address; ValueError when it is not one here."""
        ...

    def normalize_tx_id(self, tx_id: str) -> str:
        """The canonical spelling of a transaction id; ValueError when it is not one."""
        ...

    async def prepare_payment(self, terms: PaymentTerms) -> PreparedPayment:
        """References, authorization and wallet instructions for `terms`."""
        ...

    def explorer_tx_url(self, tx_id: str) -> str:
        """A link to the transaction on a block explorer, or ""."""
        ...

    def public_facts(self) -> dict[str, Any]:
        """Network-specific facts for `GET /v1/networks` and `kassa networks list` (JSON)."""
        ...

    async def health(self) -> list[HealthCheck]:
        """The network's own checks (nodes answer on the right chain, what it relies on is
        deployed and authorised, hot keys funded …), one `HealthCheck` per concern under a
        stable name. Answers failures as failed checks rather than raising; each call bounded
        by the node timeout (the core gives up after a few seconds)."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DepositSweep:
    """One deposit address the core asks the network to empty towards its merchant."""

    payment_id: str
    deposit_address: str
    # What `PreparedPayment.deposit_terms` said when the payment was made.
    deposit_terms: dict[str, Any]
    # Tokens seen arriving there (`Token.address`; the native coin is always swept).
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep transaction cost, per payment (a batch shares its gas)."""

    tx_id: str
    gas_by_payment: dict[str, int]


@runtime_checkable
class DepositNetwork(Protocol):
    """A `Network` whose payments also have deposit addresses: a plain transfer from any
    wallet or exchange pays, and money there is later swept to the merchant.

    The core watches the addresses of open payments: `observe_deposits` reports transfers of
    any token into them and sweeps out of them (`ObservationKind.TRANSFER` / `SWEEP`);
    `native_balances` tells what native coin they hold at a block (native transfers often
    leave no log). The core credits at the confirmation depth and asks `sweep` to forward
    final money; the network's sweeper pays the gas.
    """

    async def observe_deposits(
        self, from_block: int, to_block: int, addresses: Sequence[str]
    ) -> list[Observation]: ...

    async def native_balances(
        self, addresses: Sequence[str], block_number: int
    ) -> dict[str, int]: ...

    async def sweep(self, deposits: Sequence[DepositSweep]) -> SweepReport: ...


@runtime_checkable
class SessionNumberNetwork(Protocol):
    """A `Network` whose chain remembers which session numbers were paid (optional).

    Session numbers come from the database (`PaymentTerms.session_number`); a chain can
    have used some already: intents signed with a leaked signer key, or a database restored
    from an older backup. A payment prepared for such a number can never succeed, so before
    giving a session a new number the core asks for the first one the chain has not used and
    skips (and reports) the rest.
    """

    async def first_unused_session_number(self, start: int) -> int:
        """The smallest number >= `start` no payment on the chain has used yet; raises
        `RpcError` when the chain does not answer."""
        ...


@dataclass(frozen=True, slots=True)
class ChainTransfer:
    """A transfer of one token (None: the native coin) from one address to another, seen in
    one block: what refunds are recognised by (`RefundNetwork`). Strings are opaque."""

    tx_id: str
    position: int  # orders transfers inside a block (EVM: log index or transaction index)
    block_number: int
    block_hash: str
    sender: str
    recipient: str
    token: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """What a wallet needs to send one plain transfer (a refund from the merchant's wallet).

    `wallet_request` is JSON for the network's `transfer_template` (a Jinja template of the
    plugin's blueprint that renders the button and loads its wallet script); `uri` is what
    a phone wallet opens (EVM: EIP-681), or "".
    """

    wallet_request: dict[str, Any]
    uri: str = ""


@dataclass(frozen=True, slots=True)
class WantedTransfer:
    """One refund's transfer the core looks for: `token` (None: the native coin) from
    `sender` to `recipient` (addresses as `normalize_address` spells them)."""

    token: str | None
    sender: str
    recipient: str


@runtime_checkable
class RefundNetwork(Protocol):
    """A `Network` that can recognise refunds (optional; see docs/plugin_hooks.md).

    Refunds are non-custodial: the merchant sends them from their own payout address to the
    address the shopper gave. The core asks, once per round for all pending refunds of the
    network, for transfers between those addresses after the blocks it already searched;
    it records the one that pays a refund, then only re-checks that transfer until it is
    `min_confirmations` deep. It never signs or sends anything itself.
    """

    # Jinja template (from the plugin's blueprint) rendering a `TransferRequest` as a "send
    # with your browser wallet" button, with `transfer` (the request) and `transfer_label`
    # in its context; "" when the network has none (the merchant sends it any way they like).
    transfer_template: str

    async def find_transfers(
        self, wanted: Sequence[WantedTransfer], from_block: int, to_block: int
    ) -> list[ChainTransfer]:
        """Transfers matching any of `wanted` (same token, sender and recipient) in blocks
        [from_block, to_block] (inclusive; the core bounds the range by `max_scan_range`),
        in chain order. Each block is read at most once per call, whatever the number of
        `wanted` (one round asks once for every pending refund of the network). Raises
        `RpcError` when the chain does not answer."""
        ...

    async def locate_transfer(self, tx_id: str, position: int) -> ChainTransfer | None:
        """The transfer `position` of `tx_id` (as `find_transfers` reported it) where the
        canonical chain has it now, or None when it is no longer there (a reorg removed it,
        or it failed). One cheap look-up: the core asks it each round of a transfer seen
        but not yet final instead of searching blocks again. Raises `RpcError`."""
        ...

    def transfer_request(self, token: str | None, recipient: str, amount: int) -> TransferRequest:
        """What a wallet sends to transfer `amount` base units of `token` to `recipient`."""
        ...


@dataclass(frozen=True, slots=True)
class NetworkNotice:
    """Something the chain shows that an operator must hear about, outside of payments (EVM:
    the payment contract's owner added a signer, changed the fee recipient, paused it …).
    `message` is the network's own sentence; the core logs it and lists it as a warning."""

    tx_id: str
    position: int
    block_number: int
    block_hash: str
    message: str


@runtime_checkable
class NoticeNetwork(Protocol):
    """A `Network` that reports `NetworkNotice`s (optional). The watcher then scans with
    this instead of `observe`: one answer for both, so noticing costs no extra node call."""

    async def observe_with_notices(
        self, from_block: int, to_block: int
    ) -> tuple[list[Observation], list[NetworkNotice]]:
        """What `observe` answers for blocks [from_block, to_block], and the notices in them,
        each in chain order; as stateless as `observe`."""
        ...


@runtime_checkable
class PriceSource(Protocol):
    """Prices of one unit of a crypto (or fiat) currency in a fiat currency's major unit
    (Decimal, never float). A fiat rate source quotes fiat/fiat pairs ("EUR/GBP"); the
    quote book combines pairs into cross rates (ETH/USD × USD/GBP)."""

    name: str

    def pairs(self) -> frozenset[tuple[str, str]]:
        """Every (symbol, fiat) pair this source can quote, upper case, known without asking
        anyone: session creation and route planning read it on every request, so it must be
        cheap and never reach the network."""
        ...

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        """The price of 1 `symbol` in `fiat`, or None if this source does not quote the pair.

        Raising means the source is down: the core falls back to a cached rate.
        """
        ...


@dataclass
class Registry:
    """Everything plugins registered, keyed for the core's lookups."""

    settings: Settings
    pm: pluggy.PluginManager
    networks: dict[str, Network] = field(default_factory=dict)
    tokens: dict[tuple[str, str], Token] = field(default_factory=dict)
    price_sources: list[PriceSource] = field(default_factory=list)
    # The `app.quotes.QuoteBook` over `price_sources` (its cache lives as long as the registry).
    quote_book: Any = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def network(self, key: str) -> Network | None:
        return self.networks.get(key)

    def token(self, network_key: str, symbol: str) -> Token | None:
        return self.tokens.get((network_key, symbol.upper()))

    def tokens_of(self, network_key: str) -> list[Token]:
        return [token for (key, _), token in self.tokens.items() if key == network_key]

    def networks_for_mode(self, livemode: bool) -> list[Network]:
        """Live keys see mainnets only; test keys see testnets only."""
        return [n for n in self.networks.values() if n.testnet != livemode]

    async def close(self) -> None:
        for network in self.networks.values():
            await network.close()


def _flatten(results: Sequence[Any]) -> list[Any]:
    items: list[Any] = []
    for result in results:
        if result is None:
            continue
        items.extend(result if isinstance(result, list | tuple) else [result])
    return items


def _missing_members(network: object) -> list[str]:
    """Protocol members `network` lacks, so a plugin author hears which ones."""
    wanted = [name for name in dir(Network) if not name.startswith("_")]
    wanted += list(getattr(Network, "__annotations__", {}))
    return sorted({name for name in wanted if not hasattr(network, name)})


def build_registry(settings: Settings, pm: pluggy.PluginManager) -> Registry:
    """Call the `register_*` hooks once; duplicate network keys or chains are fatal."""
    registry = Registry(settings=settings, pm=pm)
    chains: dict[str, str] = {}
    for network in _flatten(pm.hook.register_networks(settings=settings)):
        if not isinstance(network, Network):
            missing = ", ".join(_missing_members(network)) or "?"
            raise PluginError(f"register_networks returned {network!r}, not a Network: {missing}")
        if network.key in registry.networks:
            raise PluginError(f"two plugins register the network key {network.key!r}")
        if network.chain_ref in chains:
            raise PluginError(
                f"networks {chains[network.chain_ref]!r} and {network.key!r} "
                f"are the same chain ({network.chain_ref})"
            )
        chains[network.chain_ref] = network.key
        registry.networks[network.key] = network
        native = network.native_currency
        registry.tokens[(network.key, native.symbol.upper())] = native
    for network in registry.networks.values():
        for token in _flatten(pm.hook.register_tokens(network=network, settings=settings)):
            if not isinstance(token, Token) or token.network != network.key:
                raise PluginError(f"register_tokens returned {token!r} for {network.key!r}")
            key = (network.key, token.symbol.upper())
            existing = registry.tokens.get(key)
            if existing is not None and existing != token:
                raise PluginError(f"two tokens named {token.symbol} on {network.key!r}")
            registry.tokens[key] = token
    unknown = sorted(set(settings.networks) - set(registry.networks))
    if unknown:
        raise PluginError(
            f"networks configured but provided by no loaded plugin: {', '.join(unknown)}"
        )
    for source in _flatten(pm.hook.register_price_sources(settings=settings)):
        if not isinstance(source, PriceSource):
            raise PluginError(f"register_price_sources returned {source!r}")
        registry.price_sources.append(source)
    return registry


_current: Registry | None = None


def install_registry(registry: Registry | None) -> Registry | None:
    """Make `registry` the process's registry; returns the previous one (tests restore it)."""
    global _current
    previous, _current = _current, registry
    return previous


def current_registry() -> Registry:
    if _current is None:
        raise PluginError("no network registry is installed; the app has not started")
    return _current
