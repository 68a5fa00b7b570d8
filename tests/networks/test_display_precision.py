"""Short exact amounts: a payment's crypto amount is rounded up to the token's display
precision (`Token.display_decimals`), and the plugins give their tokens one."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import Settings
from app.money import FiatAmount, base_units_to_decimal, currency_exponent
from app.networks import PluginError, Token, build_registry
from app.plugins import make_plugin_manager
from app.quotes import crypto_units_for, token_units_for

rates = st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("10000000"), places=8, allow_nan=False
)


@st.composite
def precisions(draw: st.DrawFn) -> tuple[int, int]:
    decimals = draw(st.sampled_from([0, 2, 6, 8, 9, 18]))
    return decimals, draw(st.integers(min_value=0, max_value=decimals))


@given(
    cents=st.integers(min_value=1, max_value=10**12),
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"]),
    rate=rates,
    precision=precisions(),
)
def test_amount_covers_the_price_in_the_fewest_display_steps(
    cents: int, currency: str, rate: Decimal, precision: tuple[int, int]
) -> None:
    decimals, display_decimals = precision
    fiat = FiatAmount(cents, currency)
    units = crypto_units_for(fiat, rate, decimals, display_decimals)
    step = 10 ** (decimals - display_decimals)
    price = Fraction(cents, 10 ** currency_exponent(currency))
    value = Fraction(rate)
    assert units % step == 0  # a whole number of displayed digits: "0.027028", no tail
    assert Fraction(units, 10**decimals) * value >= price  # the merchant is never short
    assert Fraction(units - step, 10**decimals) * value < price  # and it is the smallest
    # At full precision it is the old, per-base-unit amount; display steps only round it up.
    assert units >= crypto_units_for(fiat, rate, decimals)
    shown_places = len(base_units_to_decimal(units, decimals).partition(".")[2])
    assert shown_places <= display_decimals


def test_the_issue_examples() -> None:
    eth = Token("devnet", "ETH", 18, display_decimals=6)
    # 50.00 EUR at 1850 EUR/ETH = 0.027027027… ETH: shown and sent as 0.027028 ETH.
    units = token_units_for(FiatAmount(5000, "EUR"), Decimal(1850), eth)
    assert units == 27_028 * 10**12 and base_units_to_decimal(units, 18) == "0.027028"
    usdc = Token("devnet", "USDC", 6, "0x" + "11" * 20, display_decimals=2)
    assert token_units_for(FiatAmount(2500, "USD"), Decimal(1), usdc) == 25_000_000
    # 25.00 GBP at 0.7562… GBP/USDC: 33.0597… rounded up to the cent of a dollar.
    gbp = token_units_for(FiatAmount(2500, "GBP"), Decimal("0.75620475698"), usdc)
    assert base_units_to_decimal(gbp, 6) == "33.06"
    # No display_decimals: every decimal counts, as before.
    plain = Token("devnet", "TST", 6, "0x" + "22" * 20)
    assert plain.payment_decimals == 6
    assert token_units_for(FiatAmount(1, "USD"), Decimal(3), plain) == 3334
    with pytest.raises(ValueError, match="display_decimals"):
        Token("devnet", "BAD", 6, display_decimals=7)
    with pytest.raises(ValueError, match="display_decimals"):
        crypto_units_for(FiatAmount(1, "USD"), Decimal(1), 6, -1)


def _mainnet(key: str, **extra: object) -> dict[str, object]:
    return {
        "rpc_urls": ["http://127.0.0.1:9"],
        "contract_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "signer_key": "0x" + "44" * 32,
        **extra,
    }


def test_plugins_give_their_tokens_a_display_precision() -> None:
    settings = Settings(
        networks={
            "ethereum": _mainnet(
                "ethereum",
                tokens=[
                    # Replaces the built-in USDC (same decimals): keeps its 2 places.
                    {"symbol": "USDC", "address": "0x" + "33" * 20, "decimals": 6},
                    {
                        "symbol": "EURC",
                        "address": "0x" + "44" * 20,
                        "decimals": 6,
                        "display_decimals": 2,
                    },
                    {"symbol": "WBTC", "address": "0x" + "55" * 20, "decimals": 8},
                ],
            ),
            "polygon": _mainnet("polygon"),
        },
        plugins=["ethereum", "polygon", "erc20"],
    )
    registry = build_registry(settings, make_plugin_manager(settings))

    def places(network: str, symbol: str) -> int:
        token = registry.token(network, symbol)
        assert token is not None
        return token.payment_decimals

    assert places("ethereum", "ETH") == 6 and places("polygon", "POL") == 6
    assert places("ethereum", "USDT") == 2 and places("ethereum", "DAI") == 2
    assert places("polygon", "USDC") == 2
    assert places("ethereum", "USDC") == 2 and places("ethereum", "EURC") == 2
    assert places("ethereum", "WBTC") == 8  # no display precision given: every decimal


def test_a_display_precision_beyond_the_decimals_stops_startup() -> None:
    settings = Settings(
        networks={
            "ethereum": _mainnet(
                "ethereum",
                tokens=[
                    {
                        "symbol": "TST",
                        "address": "0x" + "33" * 20,
                        "decimals": 2,
                        "display_decimals": 6,
                    }
                ],
            )
        },
        plugins=["ethereum", "erc20"],
    )
    with pytest.raises(PluginError, match="display_decimals"):
        build_registry(settings, make_plugin_manager(settings))
