"""Everything EVM: `EvmPlugin` turns a list of `ChainSpec`s into Kassa networks.

`plugins.ethereum`, `plugins.polygon` and the L2 plugins are `EvmPlugin` instances registered
through the `kassa` entry-point group. The parts every EVM network shares (the pay-step
template and wallet.js, the test-wallet route, `kassa contracts deploy`) are registered once
however many instances are loaded: blueprints are the same object, and the command is only
added when missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.hookspecs import hookimpl
from app.networks import Network, PriceSource
from app.quotes import CoinGeckoSource
from plugins.evm.network import ChainSpec, EvmNetwork

__all__ = ["ChainSpec", "EvmNetwork", "EvmPlugin"]


class EvmPlugin:
    """The hooks of one EVM network plugin, over the chains in `specs`."""

    def __init__(
        self, name: str, specs: Sequence[ChainSpec], coingecko_ids: dict[str, str]
    ) -> None:
        keys = [spec.key for spec in specs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{name}: duplicate network keys in {keys}")
        self.name = name
        self.specs = tuple(specs)
        # CoinGecko coin ids of the native coins of these networks, e.g. {"ETH": "ethereum"}.
        self.coingecko_ids = dict(coingecko_ids)

    def __repr__(self) -> str:
        return f"EvmPlugin({self.name!r})"

    @hookimpl
    def register_networks(self, settings: Any) -> list[Network]:
        return [
            EvmNetwork.from_settings(spec, settings.networks[spec.key])
            for spec in self.specs
            if spec.key in settings.networks
        ]

    @hookimpl
    def register_price_sources(self, settings: Any) -> list[PriceSource]:
        from plugins.evm.chainlink import chainlink_sources

        sources: list[PriceSource] = list(chainlink_sources(self.specs, settings))
        enabled = any(spec.key in settings.networks for spec in self.specs)
        # Only for enabled networks: several EVM plugins quote ETH, and each extra source
        # would be one more timeout to wait for when CoinGecko is down.
        if settings.coingecko_enabled and self.coingecko_ids and enabled:
            sources.append(
                CoinGeckoSource(self.coingecko_ids, settings.coingecko_url, name="coingecko")
            )
        return sources

    @hookimpl
    def register_blueprints(self) -> list[Any]:
        from plugins.evm.web import blueprint

        return [blueprint]

    @hookimpl
    def register_commands(self, subcommands: Any, command: Any) -> None:
        if "contracts" in subcommands.choices:
            return
        from plugins.evm.cli import add_contract_commands

        add_contract_commands(subcommands, command)

    @hookimpl
    def dev_network(self, state_dir: Path) -> Any:
        spec = next((spec for spec in self.specs if spec.devnet), None)
        if spec is None:
            return None
        from plugins.evm.devnet import start_devnet

        return start_devnet(spec, state_dir)
