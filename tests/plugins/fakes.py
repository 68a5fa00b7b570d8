"""Test-only plugins: a fake network, duplicate registrations, overrides, a recorder."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.hookspecs import hookimpl
from app.networks import Block, FinalityPolicy, Token


@dataclass
class FakeNetwork:
    """Enough of `app.networks.Network` for registration tests (no chain behind it)."""

    key: str
    chain_id: int
    name: str = "Fake"
    testnet: bool = True
    contract_address: str = "0x" + "11" * 20
    finality: FinalityPolicy = field(default_factory=lambda: FinalityPolicy(5))
    max_log_range: int = 100
    poll_interval: float = 1.0
    explorer_url: str = ""

    @property
    def native_currency(self) -> Token:
        return Token(network=self.key, symbol="FAKE", decimals=18)

    async def head(self) -> Block:
        return Block(1, "0x01", "0x00", 0)

    async def finalized_head(self) -> Block | None:
        return None

    async def block(self, number: int) -> Block | None:
        return None

    async def get_logs(self, from_block: int, to_block: int) -> list[Any]:
        return []

    def rpc_generation(self) -> int:
        return 0

    def normalize_address(self, address: str) -> str:
        return address

    def sign_intent(self, intent: Any) -> bytes:
        return b""

    def explorer_tx_url(self, tx_hash: str) -> str:
        return ""

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


class CustomRequest:
    """Overrides the transaction request for one token."""

    @hookimpl
    def build_payment_request(self, payment: Any, network: Any, token: Any) -> Any:
        if token.symbol != "USDT":
            return None
        return {"to": network.contract_address, "data": "0x", "value": 0, "eip681_uri": "x:"}


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

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        return Decimal("12.5") if symbol == "GOLD" else None
