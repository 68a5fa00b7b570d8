"""Polygon PoS and its Amoy testnet, on the EVM adapter (with the PoA middleware)."""

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

# Polygon saw a ~157-block reorg in 2023; 128 blocks is the default depth here, and
# operators can require the `finalized` (milestone) tag as well.
SPECS = (
    ChainSpec(
        key="polygon",
        chain_id=137,
        name="Polygon PoS",
        testnet=False,
        native_symbol="POL",
        native_name="POL",
        confirmations=128,
        explorer_url="https://polygonscan.com",
        poll_interval=2.0,
        poa=True,
    ),
    ChainSpec(
        key="amoy",
        chain_id=80002,
        name="Polygon Amoy",
        testnet=True,
        native_symbol="POL",
        native_name="Amoy POL",
        confirmations=128,
        explorer_url="https://amoy.polygonscan.com",
        poll_interval=2.0,
        poa=True,
    ),
)

COINGECKO_IDS = {"POL": "polygon-ecosystem-token"}


@hookimpl
def register_networks(settings: Any) -> list[Network]:
    return list(networks_from_settings(SPECS, settings))


@hookimpl(trylast=True)
def min_confirmations(network: Network) -> int | None:
    return default_confirmations(network, SPECS)


@hookimpl(trylast=True)
def build_payment_request(payment: Any, network: Network, token: Token) -> dict[str, Any] | None:
    return evm_payment_request(payment, network, token, SPECS)


@hookimpl
def register_price_sources(settings: Any) -> list[PriceSource]:
    sources: list[PriceSource] = list(chainlink_sources(SPECS, settings))
    if settings.coingecko_enabled:
        sources.append(CoinGeckoSource(COINGECKO_IDS, settings.coingecko_url, name="coingecko-pol"))
    return sources
