"""What plugins provide: Network, Token and PriceSource, and the registry built at startup.

The core knows no chain by name or id. Network plugins (`register_networks`) return objects
that satisfy the `Network` protocol; token plugins add `Token`s per network; price-source
plugins return `PriceSource`s. `build_registry()` collects them once at startup and fails
loudly on duplicates, so a misconfiguration never reaches a shopper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from app.contract import PaymentIntent, PaymentReceived

if TYPE_CHECKING:
    import pluggy

    from app.config import Settings


class PluginError(RuntimeError):
    """A plugin or its configuration is unusable; raised at startup."""


class RpcError(RuntimeError):
    """A node could not answer (after failover and retries); the watcher retries later."""


class LogRangeTooLarge(RpcError):
    """The provider refused an `eth_getLogs` range as too large; callers split it."""


@dataclass(frozen=True, slots=True)
class FinalityPolicy:
    """When a block counts as final: `confirmations` deep and/or at or below `finalized`."""

    confirmations: int
    require_finalized_tag: bool = False
    # Only the tag (no depth): `confirmations` is then just what the page shows.
    finalized_tag_only: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """A block header as the watcher needs it."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Token:
    """A currency payable on one network. `address` is None for the network's native coin."""

    network: str
    symbol: str
    decimals: int
    address: str | None = None
    name: str = ""

    @property
    def is_native(self) -> bool:
        return self.address is None


@runtime_checkable
class Network(Protocol):
    """One enabled chain with its payment contract, as a network plugin provides it.

    `scan` is stateless over a block range (`get_logs`); the core watcher owns the cursor,
    reorg handling and retries.
    """

    key: str
    chain_id: int
    name: str
    testnet: bool
    native_currency: Token
    contract_address: str
    finality: FinalityPolicy
    max_log_range: int
    poll_interval: float
    explorer_url: str

    async def head(self) -> Block:
        """The latest block."""
        ...

    async def finalized_head(self) -> Block | None:
        """The newest block the chain itself calls final (`finalized` tag), if it has one."""
        ...

    async def block(self, number: int) -> Block | None:
        """The canonical block at `number`, or None when the node does not have it (yet)."""
        ...

    async def get_logs(self, from_block: int, to_block: int) -> list[PaymentReceived]:
        """Decoded payment-contract logs in [from_block, to_block] (inclusive)."""
        ...

    def rpc_generation(self) -> int:
        """Bumped whenever the adapter fails over to another node (answers may not chain)."""
        ...

    def normalize_address(self, address: str) -> str:
        """The canonical spelling of `address`; ValueError when it is not one."""
        ...

    def sign_intent(self, intent: PaymentIntent) -> bytes:
        """The intent signer's signature of `intent` for this network's contract."""
        ...

    def explorer_tx_url(self, tx_hash: str) -> str: ...

    async def close(self) -> None: ...


@runtime_checkable
class PriceSource(Protocol):
    """Prices of one crypto unit in a fiat currency's major unit (Decimal, never float)."""

    name: str

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


def build_registry(settings: Settings, pm: pluggy.PluginManager) -> Registry:
    """Call the `register_*` hooks once; duplicate network keys or chain ids are fatal."""
    registry = Registry(settings=settings, pm=pm)
    chain_ids: dict[int, str] = {}
    for network in _flatten(pm.hook.register_networks(settings=settings)):
        if not isinstance(network, Network):
            raise PluginError(f"register_networks returned {network!r}, not a Network")
        if network.key in registry.networks:
            raise PluginError(f"two plugins register the network key {network.key!r}")
        if network.chain_id in chain_ids:
            raise PluginError(
                f"networks {chain_ids[network.chain_id]!r} and {network.key!r} "
                f"share chain id {network.chain_id}"
            )
        chain_ids[network.chain_id] = network.key
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
