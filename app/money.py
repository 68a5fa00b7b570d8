"""Money: fiat in integer minor units, crypto in integer base units. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

from babel.numbers import get_currency_precision, list_currencies

# ISO 4217 codes Babel knows (its CLDR data also carries the minor-unit exponent).
_KNOWN_CURRENCIES = frozenset(code for code in list_currencies() if len(code) == 3)

MAX_AMOUNT_FIAT_CENTS = 999_999_999_999  # 12 digits of minor units, far above any checkout.


class MoneyError(ValueError):
    """An amount or currency a checkout cannot accept; `code` names the rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def normalize_currency(code: str) -> str:
    """Upper-case ISO 4217 code, or MoneyError("currency_invalid")."""
    upper = code.strip().upper()
    if upper not in _KNOWN_CURRENCIES:
        raise MoneyError("currency_invalid", f"{code!r} is not an ISO 4217 currency code.")
    return upper


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point: JPY 0, EUR 2, KWD 3."""
    return int(get_currency_precision(currency))


@dataclass(frozen=True, slots=True)
class FiatAmount:
    """An amount of a fiat currency in minor units; mixing currencies is a TypeError."""

    minor_units: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor_units, bool) or not isinstance(self.minor_units, int):
            raise TypeError("minor_units must be an int")

    @classmethod
    def parse(cls, text: str, currency: str) -> FiatAmount:
        """From a decimal string such as "50.00"; refuses more digits than the currency has."""
        exponent = currency_exponent(currency)
        try:
            value = Decimal(text.strip())
        except (InvalidOperation, AttributeError):
            raise MoneyError("amount_invalid", f"{text!r} is not a decimal amount.") from None
        if not value.is_finite():
            raise MoneyError("amount_invalid", f"{text!r} is not a decimal amount.")
        # Bounded before any arithmetic: `adjusted()` needs no context, while scaleb() would
        # raise decimal.Overflow for "1e999999999".
        if value.adjusted() > 15:
            raise MoneyError("amount_too_large", f"{text!r} is too large.")
        if _decimal_places(value) > exponent:
            raise MoneyError(
                "amount_precision_invalid",
                f"{currency} amounts have {exponent} decimal places; {text!r} has more.",
            )
        return cls.checked(int(value.scaleb(exponent)), currency)

    @classmethod
    def checked(cls, minor_units: int, currency: str) -> FiatAmount:
        """A positive amount no larger than MAX_AMOUNT_FIAT_CENTS."""
        if minor_units <= 0:
            raise MoneyError("amount_too_small", "The amount must be greater than zero.")
        if minor_units > MAX_AMOUNT_FIAT_CENTS:
            raise MoneyError(
                "amount_too_large",
                f"The amount must be at most {MAX_AMOUNT_FIAT_CENTS} minor units.",
            )
        return cls(minor_units, currency)

    def decimal_string(self) -> str:
        """ "50.00" for 5000 EUR cents, "1050" for 1050 JPY."""
        exponent = currency_exponent(self.currency)
        return f"{Decimal(self.minor_units).scaleb(-exponent):.{exponent}f}"

    def __add__(self, other: object) -> FiatAmount:
        if not isinstance(other, FiatAmount):
            return NotImplemented
        if other.currency != self.currency:
            raise TypeError(f"cannot add {other.currency} to {self.currency}")
        return FiatAmount(self.minor_units + other.minor_units, self.currency)


def _decimal_places(value: Decimal) -> int:
    """Digits after the point once trailing zeros go: 1 for "1.50", 0 for "1E+3".

    Counted from the digits, not with normalize(), which rounds to the context's 28 digits
    (so "50.000000000000000000000000000001" would pass as 50) and underflows tiny values.
    """
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values only
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0
    return max(0, -(exponent + len(digits) - len(significant)))


def base_units_to_decimal(units: int, decimals: int) -> str:
    """Exact decimal text of token base units: "1.5" for 1_500_000 at 6 decimals."""
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise TypeError("units must be a non-negative int")
    text = str(units).rjust(decimals + 1, "0")
    whole, frac = (text[:-decimals], text[-decimals:]) if decimals else (text, "")
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def decimal_to_base_units(text: str, decimals: int) -> int:
    """Token base units of an exact decimal string: 1_500_000 for "1.5" at 6 decimals.

    MoneyError when it is not a plain non-negative decimal or has more places than the token.
    """
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise MoneyError("amount_invalid", f"{text!r} is not a decimal amount.") from None
    if not value.is_finite() or value.is_signed():
        raise MoneyError("amount_invalid", f"{text!r} is not a decimal amount.")
    if value.adjusted() > 80:  # beyond any uint256 amount; bounded before scaleb
        raise MoneyError("amount_too_large", f"{text!r} is too large.")
    if _decimal_places(value) > decimals:
        raise MoneyError(
            "amount_precision_invalid",
            f"This token has {decimals} decimal places; {text!r} has more.",
        )
    with localcontext() as exact:
        exact.prec = 200  # the default 28 digits would round an 18-decimal amount
        return int(value.scaleb(decimals))
