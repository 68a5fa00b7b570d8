"""How dashboard pages write amounts: one formatter for fiat and one for tokens.

Registered as template globals by `app.dashboard.web.dashboard_blueprint`, so every page and
partial writes `{{ fiat(cents, currency) }}`, `{{ crypto(payment) }}` and
`{{ token_amount(units, payment) }}` the same way (exact decimals, never floats).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from app.money import FiatAmount, base_units_to_decimal


class TokenAmounts(Protocol):
    """A payment or refund: an amount in base units of a token with its decimals."""

    amount_base_units: int
    decimals: int
    crypto_currency: str


def fiat(minor_units: int, currency: str) -> str:
    """ "12.34 EUR" (the currency's own minor units: "1234 JPY")."""
    return f"{FiatAmount(minor_units, currency).decimal_string()} {currency.upper()}"


def token_amount(units: int, of: TokenAmounts) -> str:
    """`units` of `of`'s token, exactly: "12.5 USDC"."""
    return f"{base_units_to_decimal(units, of.decimals)} {of.crypto_currency}"


def crypto(of: TokenAmounts) -> str:
    """A payment's or refund's own amount: "12.5 USDC"."""
    return token_amount(of.amount_base_units, of)


TEMPLATE_GLOBALS: dict[str, Callable[..., Any]] = {
    "fiat": fiat,
    "crypto": crypto,
    "token_amount": token_amount,
}
