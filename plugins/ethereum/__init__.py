"""Ethereum mainnet, Sepolia and a local devnet (anvil), on the shared EVM adapter."""

from __future__ import annotations

from typing import Any

from app.hookspecs import hookimpl
from app.networks import Network, PriceSource, Token
from app.quotes import CoinGeckoSource
from plugins.ethereum.adapter import (
    ChainSpec,
    default_confirmations,
    evm_payment_request,
    networks_from_settings,
)
from plugins.ethereum.chainlink import chainlink_sources

SPECS = (
    ChainSpec(
        key="ethereum",
        chain_id=1,
        name="Ethereum",
        testnet=False,
        native_symbol="ETH",
        native_name="Ether",
        confirmations=12,
        explorer_url="https://etherscan.io",
        poll_interval=6.0,
    ),
    ChainSpec(
        key="sepolia",
        chain_id=11155111,
        name="Sepolia",
        testnet=True,
        native_symbol="ETH",
        native_name="Sepolia Ether",
        confirmations=12,
        explorer_url="https://sepolia.etherscan.io",
        poll_interval=6.0,
    ),
    ChainSpec(
        key="devnet",
        chain_id=31337,
        name="Local devnet",
        testnet=True,
        native_symbol="ETH",
        native_name="Devnet Ether",
        confirmations=1,
        explorer_url="",
        poll_interval=1.0,
        max_log_range=10_000,
    ),
)

# CoinGecko coin ids of the native coins this plugin's networks use.
COINGECKO_IDS = {"ETH": "ethereum"}


@hookimpl
def register_networks(settings: Any) -> list[Network]:
    return list(networks_from_settings(SPECS, settings))


@hookimpl(trylast=True)
def min_confirmations(network: Network) -> int | None:
    """The network's own default; operator overrides run first."""
    return default_confirmations(network, SPECS)


@hookimpl(trylast=True)
def build_payment_request(payment: Any, network: Network, token: Token) -> dict[str, Any] | None:
    return evm_payment_request(payment, network, token, SPECS)


@hookimpl
def register_price_sources(settings: Any) -> list[PriceSource]:
    sources: list[PriceSource] = list(chainlink_sources(SPECS, settings))
    if settings.coingecko_enabled:
        sources.append(CoinGeckoSource(COINGECKO_IDS, settings.coingecko_url, name="coingecko"))
    return sources
