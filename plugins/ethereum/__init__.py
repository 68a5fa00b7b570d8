"""Ethereum mainnet, Sepolia and a local devnet (anvil), as an `EvmPlugin`."""

from __future__ import annotations

from plugins.evm import ChainSpec, EvmPlugin

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
        devnet=True,
    ),
)

plugin = EvmPlugin("ethereum", SPECS, coingecko_ids={"ETH": "ethereum"})
