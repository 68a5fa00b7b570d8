"""Test-only plugins: a fake network, duplicate registrations, overrides, a recorder."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.hookspecs import hookimpl
from app.networks import (
    Block,
    FinalityPolicy,
    HealthCheck,
    Observation,
    PaymentTerms,
    PreparedPayment,
    Token,
)


@dataclass
class FakeNetwork:
    """Enough of `app.networks.Network` for registration tests (no chain behind it)."""

    key: str
    chain_id: int
    name: str = "Fake"
    testnet: bool = True
    finality: FinalityPolicy = field(default_factory=lambda: FinalityPolicy(5))
    max_scan_range: int = 100
    poll_interval: float = 1.0
    explorer_url: str = ""
    pay_template: str = ""
    checkout_scripts: tuple[str, ...] = ()

    @property
    def chain_ref(self) -> str:
        return f"eip155:{self.chain_id}"

    @property
    def native_currency(self) -> Token:
        return Token(network=self.key, symbol="FAKE", decimals=18)

    async def head(self) -> Block:
        return Block(1, "h1", "h0", 0)

    async def finalized_head(self) -> Block | None:
        return None

    async def chain_time(self) -> int:
        return 0

    async def block(self, number: int) -> Block | None:
        return None

    async def observe(self, from_block: int, to_block: int) -> list[Observation]:
        return []

    async def observe_transaction(self, tx_id: str) -> list[Observation]:
        return []

    def rpc_generation(self) -> int:
        return 0

    def normalize_address(self, address: str) -> str:
        return address

    def normalize_tx_id(self, tx_id: str) -> str:
        return tx_id

    async def prepare_payment(self, terms: PaymentTerms) -> PreparedPayment:
        return PreparedPayment(reference=terms.payment_id, session_reference=terms.session_id)

    def explorer_tx_url(self, tx_id: str) -> str:
        return ""

    def public_facts(self) -> dict[str, Any]:
        return {}

    async def health(self) -> list[HealthCheck]:
        return [HealthCheck("fake", True, "no chain behind it: nothing to check")]

    async def close(self) -> None:
        return None


class AddsNetwork:
    """Registers one fake network."""

    def __init__(self, key: str, chain_id: int) -> None:
        self.network = FakeNetwork(key, chain_id)

    @hookimpl
    def register_networks(self, settings: Any) -> list[Any]:
        return [self.network]


class Misspelt:
    """A hook implementation with a typo: check_pending() must catch it."""

    @hookimpl
    def register_netwroks(self, settings: Any) -> list[Any]:
        return []


class BigPaymentsWaitLonger:
    """A plugin policy between the network default and the operator's override."""

    @hookimpl
    def min_confirmations(self, network: Any, token: Any, amount: int) -> int | None:
        return 2 if amount >= 10**18 else None


class Recorder:
    """Records payment_status_changed calls (async, like most real listeners)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    @hookimpl
    async def payment_status_changed(self, payment: Any, event: Any) -> None:
        self.calls.append((payment.id, event.type, payment.status))


class Broken:
    """A listener that always fails: the core logs it and carries on."""

    @hookimpl
    def payment_status_changed(self, payment: Any, event: Any) -> None:
        raise RuntimeError("listener down")


class ExtraTokens:
    @hookimpl
    def register_tokens(self, network: Any, settings: Any) -> list[Token]:
        return [Token(network=network.key, symbol="GOLD", decimals=2, address="0x" + "22" * 20)]


class GoldPrice:
    @hookimpl
    def register_price_sources(self, settings: Any) -> list[Any]:
        return [Fixed()]


class Fixed:
    name = "gold"

    def pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset({("GOLD", "USD")})

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        return Decimal("12.5") if symbol == "GOLD" else None


class AddsPage:
    """A blueprint with a route, a template and a static file, like a network plugin's."""

    def __init__(self, static_dir: Any) -> None:
        from quart import Blueprint

        self.blueprint = Blueprint(
            "fakepage",
            __name__,
            static_folder=str(static_dir),
            static_url_path="/static/plugins/fakepage",
        )

        @self.blueprint.get("/fake-plugin-page")
        async def page() -> str:
            return "hello from a plugin"

    @hookimpl
    def register_blueprints(self, settings: Any) -> list[Any]:
        return [self.blueprint]


class AddsCommand:
    """A `kassa hello` command."""

    @hookimpl
    def register_commands(self, subcommands: Any, command: Any) -> None:
        async def hello(args: Any, settings: Any) -> None:
            print("hello", args.who)

        command(subcommands, "hello", hello, "say hello").add_argument("who")


class RunsDevNetwork:
    """A local chain for `kassa dev` that is only a description."""

    @hookimpl
    def dev_network(self, state_dir: Any) -> Any:
        from app.dev import DevNetwork

        async def start() -> DevNetwork:
            return DevNetwork(key="toy", settings={}, payout_address="me", currencies=["TOY"])

        return start()
