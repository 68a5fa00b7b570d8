"""ERC-20 tokens: the well-known stablecoins per network, plus operator-configured tokens.

Operator tokens (`[[networks.KEY.tokens]]`) are how a devnet's test tokens get enabled.
Stablecoins are pegged 1:1 to the US dollar as a price source of last resort.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eth_utils import to_checksum_address

from app.hookspecs import hookimpl
from app.networks import Network, PluginError, PriceSource, Token
from app.quotes import FixedRateSource
from plugins.evm import EvmNetwork

# (network key, symbol): (address, decimals, name) — the issuers' published contracts.
KNOWN_TOKENS: dict[tuple[str, str], tuple[str, int, str]] = {
    ("ethereum", "USDC"): ("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 6, "USD Coin"),
    ("ethereum", "USDT"): ("0xdAC17F958D2ee523a2206206994597C13D831ec7", 6, "Tether USD"),
    ("ethereum", "DAI"): ("0x6B175474E89094C44Da98b954EedeAC495271d0F", 18, "Dai Stablecoin"),
    ("polygon", "USDC"): ("0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", 6, "USD Coin"),
    ("polygon", "USDT"): ("0xc2132D05D31c914a87C6611C10748AEb04B58e8F", 6, "Tether USD"),
    ("polygon", "DAI"): ("0x8f3Cf7ad23Cd3CaDbD9735AFf958023239c6A063", 18, "Dai Stablecoin"),
    ("sepolia", "USDC"): ("0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", 6, "USD Coin"),
    ("amoy", "USDC"): ("0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", 6, "USD Coin"),
    # Circle's native USDC on the rollups, never the bridged USDC.e / USDbC (other contracts).
    ("base", "USDC"): ("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", 6, "USD Coin"),
    ("base_sepolia", "USDC"): ("0x036CbD53842c5426634e7929541eC2318f3dCF7e", 6, "USD Coin"),
    ("arbitrum", "USDC"): ("0xaf88d065e77c8cC2239327C5EDb3A432268e5831", 6, "USD Coin"),
    ("arbitrum_sepolia", "USDC"): ("0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", 6, "USD Coin"),
    ("optimism", "USDC"): ("0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", 6, "USD Coin"),
    ("optimism_sepolia", "USDC"): ("0x5fd84259d66Cd46123540766Be93DFE6D43130D7", 6, "USD Coin"),
}

STABLECOIN_PEGS = {"USDC/USD": Decimal(1), "USDT/USD": Decimal(1), "DAI/USD": Decimal(1)}
# Payment amounts of a stablecoin carry the cents of its currency: "25.00 USDC", never
# "25.000001" (rounded up, so the merchant is never short). Other currencies' stablecoins
# (EURC …) would take their currency's exponent, 2 as well.
STABLECOIN_DISPLAY_DECIMALS = 2


def _display_decimals(item: Any, builtins: list[Token]) -> int | None:
    """The operator's `display_decimals`, else the built-in token's it replaces (same
    symbol and decimals), else None (every decimal)."""
    if item.display_decimals is not None:
        return int(item.display_decimals)
    for token in builtins:
        if token.symbol == item.symbol.upper() and token.decimals == item.decimals:
            return token.display_decimals
    return None


@hookimpl
def register_tokens(network: Network, settings: Any) -> list[Token] | None:
    if not isinstance(network, EvmNetwork):
        return None  # another plugin's chain: its tokens are not ERC-20 contracts
    tokens = [
        Token(
            network=key,
            symbol=symbol,
            decimals=decimals,
            address=address,
            name=name,
            display_decimals=STABLECOIN_DISPLAY_DECIMALS,
        )
        for (key, symbol), (address, decimals, name) in KNOWN_TOKENS.items()
        if key == network.key
    ]
    config = settings.networks.get(network.key)
    for item in config.tokens if config is not None else ():
        if item.display_decimals is not None and item.display_decimals > item.decimals:
            raise PluginError(
                f"network {network.key!r}: token {item.symbol} display_decimals "
                f"({item.display_decimals}) exceeds its decimals ({item.decimals})"
            )
        try:
            address = to_checksum_address(item.address)
        except ValueError:
            raise PluginError(
                f"network {network.key!r}: token {item.symbol} address is not an address"
            ) from None
        configured = Token(
            network=network.key,
            symbol=item.symbol.upper(),
            decimals=item.decimals,
            address=address,
            name=item.name or item.symbol.upper(),
            display_decimals=_display_decimals(item, tokens),
        )
        # An operator's token replaces a built-in one of the same symbol.
        tokens = [t for t in tokens if t.symbol != configured.symbol] + [configured]
    return tokens


@hookimpl(trylast=True)
def register_price_sources(settings: Any) -> list[PriceSource]:
    return [FixedRateSource(STABLECOIN_PEGS, name="stablecoin-peg")]
