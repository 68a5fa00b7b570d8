"""Chainlink price feeds read on chain (`latestRoundData`), as a price source."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from app.networks import PluginError, RpcError
from app.quotes import split_pair
from plugins.evm.network import ChainSpec, evm_settings
from plugins.evm.rpc import RpcPool

_LATEST_ROUND_DATA = "0x" + keccak(text="latestRoundData()")[:4].hex()
_DECIMALS = "0x" + keccak(text="decimals()")[:4].hex()


def decode_latest_round(data: bytes, decimals: int) -> tuple[Decimal, int]:
    """(price, updatedAt) from `latestRoundData()` return data; refuses non-positive prices."""
    _round_id, answer, _started, updated_at, _answered = abi_decode(
        ["uint80", "int256", "uint256", "uint256", "uint80"], data
    )
    if answer <= 0:
        raise RpcError(f"Chainlink feed answered {answer}")
    return Decimal(answer).scaleb(-decimals), int(updated_at)


class ChainlinkFeedSource:
    """Reads `{"ETH/USD": aggregator}` feeds on one network; stale answers count as down.

    Fiat feeds ({"GBP/USD": aggregator}) are pairs like any other: the quote book uses them
    as the fiat leg of a cross rate (USDC/USD ÷ GBP/USD).
    """

    def __init__(
        self,
        network_key: str,
        rpc: RpcPool,
        feeds: dict[str, str],
        max_age_seconds: float = 3600.0,
    ) -> None:
        self.name = f"chainlink:{network_key}"
        self.rpc = rpc
        self.feeds = {pair.upper(): to_checksum_address(addr) for pair, addr in feeds.items()}
        self.max_age = max_age_seconds
        self._decimals: dict[str, int] = {}
        self._pairs = frozenset(split_pair(pair) for pair in self.feeds)

    def pairs(self) -> frozenset[tuple[str, str]]:
        return self._pairs

    async def _call(self, address: str, selector: str) -> bytes:
        result = await self.rpc.call(
            f"eth_call {selector}",
            lambda w3: w3.eth.call({"to": address, "data": selector}),  # type: ignore[typeddict-item]
        )
        return bytes(result)

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        address = self.feeds.get(f"{symbol}/{fiat}".upper())
        if address is None:
            return None
        if address not in self._decimals:
            (decimals,) = abi_decode(["uint8"], (await self._call(address, _DECIMALS))[:32])
            self._decimals[address] = int(decimals)
        data = await self._call(address, _LATEST_ROUND_DATA)
        price, updated_at = decode_latest_round(data[:160], self._decimals[address])
        if time.time() - updated_at > self.max_age:
            raise RpcError(f"{self.name}: {symbol}/{fiat} answer is stale")
        return price


def chainlink_sources(specs: Sequence[ChainSpec], settings: Any) -> list[ChainlinkFeedSource]:
    sources = []
    for spec in specs:
        config = settings.networks.get(spec.key)
        if config is None:
            continue
        evm = evm_settings(spec.key, config)
        if not evm.chainlink_feeds:
            continue
        rpc = RpcPool(spec.key, evm.rpc_url_values(), evm.rpc_timeout_seconds, poa=spec.poa)
        try:
            sources.append(ChainlinkFeedSource(spec.key, rpc, dict(evm.chainlink_feeds)))
        except ValueError as error:  # a misspelt pair or address stops startup
            raise PluginError(f"network {spec.key!r}: chainlink_feeds: {error}") from None
    return sources
