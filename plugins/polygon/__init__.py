"""Polygon PoS and its Amoy testnet, as an `EvmPlugin` (blocks need the PoA middleware)."""

from __future__ import annotations

from plugins.evm import ChainSpec, EvmPlugin

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

plugin = EvmPlugin("polygon", SPECS, coingecko_ids={"POL": "polygon-ecosystem-token"})
