"""Price quotes: price sources, cross rates, the fallback cache, and fiat → crypto rounding
(always up, to the token's display precision).

A rate is the price of one whole crypto unit (one coin or token) in the fiat currency's major
unit, as a `Decimal`. Amounts are `int` minor units (fiat) and base units (crypto); nothing
here touches a float.

When no source quotes SYMBOL/FIAT itself, the `QuoteBook` combines two pairs through a pivot
currency: SYMBOL/PIVOT × PIVOT/FIAT, or SYMBOL/PIVOT ÷ FIAT/PIVOT (e.g. a USD-pegged
stablecoin × the ECB's USD/GBP). Products of decimals are exact; a quotient that has no
finite decimal is cut to `CROSS_RATE_DIGITS` significant digits, rounded down, so the
crypto amount (fiat ÷ rate) only ever rounds in the merchant's favour.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING

from app.hookspecs import hookimpl
from app.http import outbound_client
from app.money import FiatAmount, currency_exponent
from app.networks import PluginError, PriceSource, Token

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("kassa.quotes")


class QuoteUnavailable(RuntimeError):
    """No source quotes the pair and no cached rate is young enough."""


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    fiat: str
    rate: Decimal
    source: str
    at: dt.datetime


# Significant digits of a cross rate's quotient (far beyond any amount's precision).
CROSS_RATE_DIGITS = 40
# Rounding down makes a rate smaller, so the crypto amount computed from it only grows.
_CROSS_RATE_CONTEXT = Context(prec=CROSS_RATE_DIGITS, rounding=ROUND_FLOOR)

# Pivots tried first when no source quotes a pair directly (then every other, alphabetically).
PREFERRED_PIVOTS = ("USD", "EUR")

Pair = tuple[str, str]


def _positive_rate(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"a rate must be a positive number, got {value}")
    return value


def split_pair(pair: str) -> Pair:
    """("ETH", "USD") from "eth/usd"; ValueError when it is not two codes around one slash."""
    parts = pair.strip().upper().split("/")
    if len(parts) != 2 or not all(part.strip() for part in parts):
        raise ValueError(f"a price pair is written SYMBOL/FIAT (e.g. ETH/USD), got {pair!r}")
    return parts[0].strip(), parts[1].strip()


def multiply_rates(left: Decimal, right: Decimal) -> Decimal:
    """left × right: exact up to CROSS_RATE_DIGITS significant digits, else rounded down."""
    return _CROSS_RATE_CONTEXT.multiply(left, right)


def divide_rates(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator ÷ denominator, to CROSS_RATE_DIGITS significant digits, rounded down."""
    return _CROSS_RATE_CONTEXT.divide(numerator, denominator)


def crypto_units_for(
    fiat: FiatAmount, rate: Decimal, decimals: int, display_decimals: int | None = None
) -> int:
    """Base units worth at least `fiat` at `rate`, rounded up (the merchant is never short)
    to a whole number of the token's smallest displayed step, 10^(decimals − display_decimals)
    base units (every base unit when `display_decimals` is None).

    With s that step and u the result: u is a multiple of s, u/10^decimals × rate ≥ fiat and
    (u−s)/10^decimals × rate < fiat.
    """
    if display_decimals is None:
        display_decimals = decimals
    if not 0 <= display_decimals <= decimals:
        raise ValueError(f"display_decimals must be between 0 and {decimals}")
    step = 10 ** (decimals - display_decimals)
    rate_fraction = Fraction(_positive_rate(rate))
    fiat_major = Fraction(fiat.minor_units, 10 ** currency_exponent(fiat.currency))
    exact_steps = fiat_major * 10**display_decimals / rate_fraction
    steps = -((-exact_steps.numerator) // exact_steps.denominator)
    return steps * step


def token_units_for(fiat: FiatAmount, rate: Decimal, token: Token) -> int:
    """A payment's amount of `token` for `fiat` at `rate`: rounded up to its display precision."""
    return crypto_units_for(fiat, rate, token.decimals, token.payment_decimals)


class FixedRateSource:
    """Fixed rates and pegs, e.g. a stablecoin's {"XYZ/USD": 1}, a local chain's coin, or an
    operator's fiat rate {"USD/GBP": "0.79"}."""

    def __init__(self, rates: Mapping[str, Decimal | str | int], name: str = "fixed") -> None:
        self.name = name
        self.rates: dict[Pair, Decimal] = {
            split_pair(pair): _positive_rate(Decimal(str(rate))) for pair, rate in rates.items()
        }
        self._pairs = frozenset(self.rates)

    def pairs(self) -> frozenset[Pair]:
        return self._pairs

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        return self.rates.get((symbol.upper(), fiat.upper()))


# The fiat currencies CoinGecko's simple/price takes as vs_currencies (its
# /simple/supported_vs_currencies, less crypto, metals and retired codes).
COINGECKO_FIAT_CURRENCIES = frozenset(
    "AED ARS AUD BDT BHD BMD BRL CAD CHF CLP CNY CZK DKK EUR GBP GEL HKD HUF IDR ILS INR JPY "
    "KRW KWD LKR MMK MXN MYR NGN NOK NZD PHP PKR PLN RUB SAR SEK SGD THB TRY TWD UAH USD VND "
    "ZAR".split()
)


class CoinGeckoSource:
    """CoinGecko's `simple/price` endpoint; `coin_ids` maps symbols to CoinGecko coin ids."""

    def __init__(
        self,
        coin_ids: Mapping[str, str],
        base_url: str = "https://api.coingecko.com/api/v3",
        timeout: float = 5.0,
        name: str = "coingecko",
    ) -> None:
        self.name = name
        self.coin_ids = {symbol.upper(): coin for symbol, coin in coin_ids.items()}
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._pairs = frozenset(
            (symbol, fiat) for symbol in self.coin_ids for fiat in COINGECKO_FIAT_CURRENCIES
        )

    def pairs(self) -> frozenset[Pair]:
        return self._pairs

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        coin = self.coin_ids.get(symbol.upper())
        if coin is None or fiat.upper() not in COINGECKO_FIAT_CURRENCIES:
            return None
        vs = fiat.lower()
        # A URL the operator configured, so no SSRF guard; their proxy settings apply.
        async with outbound_client(
            timeout=self.timeout, follow_redirects=False, trust_env=True
        ) as client:
            response = await client.get(
                f"{self.base_url}/simple/price", params={"ids": coin, "vs_currencies": vs}
            )
        response.raise_for_status()
        try:
            # parse_float keeps the price exact: JSON numbers never become floats.
            body = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
            value = body[coin][vs]
        except (ValueError, KeyError, TypeError):
            raise RuntimeError(f"unexpected CoinGecko answer for {coin}/{vs}") from None
        if not isinstance(value, Decimal):
            raise RuntimeError(f"unexpected CoinGecko price for {coin}/{vs}")
        return _positive_rate(value)


@dataclass(frozen=True, slots=True)
class Leg:
    """One pair asked of one source: `source` quotes base/quote, or (`inverted`) quote/base
    and the leg's rate is its reciprocal."""

    source: PriceSource
    base: str
    quote: str
    inverted: bool = False

    @property
    def asked(self) -> Pair:
        """The pair the source is asked for."""
        return (self.quote, self.base) if self.inverted else (self.base, self.quote)


@dataclass(frozen=True, slots=True)
class Route:
    """How one pair is priced: one leg (a source quotes it), or a crypto leg SYMBOL/PIVOT
    and a fiat leg PIVOT/FIAT that multiplies (or FIAT/PIVOT that divides)."""

    legs: tuple[Leg, ...]

    @property
    def name(self) -> str:
        """What a quote's `source` says, e.g. "stablecoin-peg×ecb" or "coingecko÷operator"."""
        name = self.legs[0].source.name
        for leg in self.legs[1:]:
            name += ("÷" if leg.inverted else "×") + leg.source.name
        return name


class QuoteBook:
    """Asks the sources along the pair's routes in order (direct first, then cross rates
    through a pivot currency); remembers the last good rate per pair for outages."""

    def __init__(self, sources: Sequence[PriceSource], max_age_seconds: float) -> None:
        self.sources = list(sources)
        self.max_age = dt.timedelta(seconds=max_age_seconds)
        self._cache: dict[Pair, Quote] = {}
        # When each pair's sources were last asked, and one lock per pair for `reuse_seconds`.
        self._asked: dict[Pair, dt.datetime] = {}
        self._locks: dict[Pair, asyncio.Lock] = {}
        # Routes depend only on the sources' declared pairs, which never change.
        self._routes: dict[Pair, tuple[Route, ...]] = {}
        self._pairs = [(source, source.pairs()) for source in self.sources]

    def routes(self, symbol: str, fiat: str) -> tuple[Route, ...]:
        """Every way the sources can price `symbol` in `fiat`, in the order they are tried.

        Reads only what the sources declare (`pairs()`): cheap, and never asks anyone.
        """
        key = (symbol.upper(), fiat.upper())
        routes = self._routes.get(key)
        if routes is None:
            routes = self._routes[key] = tuple(self._plan(*key))
        return routes

    def can_quote(self, symbol: str, fiat: str) -> bool:
        """Whether some source (or two, through a pivot) can price the pair at all."""
        return bool(self.routes(symbol, fiat))

    def _plan(self, symbol: str, fiat: str) -> list[Route]:
        routes = [
            Route((Leg(source, symbol, fiat),))
            for source, pairs in self._pairs
            if (symbol, fiat) in pairs
        ]
        quoted_in = {pivot for _, pairs in self._pairs for base, pivot in pairs if base == symbol}
        quoted_in.discard(fiat)
        quoted_in.discard(symbol)
        preferred = [pivot for pivot in PREFERRED_PIVOTS if pivot in quoted_in]
        for pivot in preferred + sorted(quoted_in - set(preferred)):
            fiat_legs: list[Leg] = []
            for source, pairs in self._pairs:
                if (pivot, fiat) in pairs:
                    fiat_legs.append(Leg(source, pivot, fiat))
                elif (fiat, pivot) in pairs:
                    fiat_legs.append(Leg(source, pivot, fiat, inverted=True))
            for source, pairs in self._pairs:
                if (symbol, pivot) in pairs:
                    first = Leg(source, symbol, pivot)
                    routes.extend(Route((first, second)) for second in fiat_legs)
        return routes

    async def quote(
        self,
        symbol: str,
        fiat: str,
        now: dt.datetime | None = None,
        reuse_seconds: float = 0.0,
    ) -> Quote:
        """The pair's rate from the first route that has one (the cached rate if all fail).

        With `reuse_seconds`, a pair whose sources were asked that recently gets what they
        answered then, and concurrent callers wait for one ask instead of each making their
        own: for displays anyone may request (previews). A payment's quote leaves it at 0.
        """
        now = now or dt.datetime.now(dt.UTC)
        key = (symbol.upper(), fiat.upper())
        if reuse_seconds <= 0:
            return await self._ask(key, now)
        async with self._locks.setdefault(key, asyncio.Lock()):
            asked = self._asked.get(key)
            if asked is None or now - asked > dt.timedelta(seconds=reuse_seconds):
                return await self._ask(key, now)
            cached = self._cache.get(key)
            if cached is not None and cached.at >= asked:
                return cached  # what the sources answered then
            fallback = self._young_cached(key, now)
            if fallback is not None:
                return fallback
            raise QuoteUnavailable(
                f"no price for {key[0]}/{key[1]}: its sources failed moments ago "
                "and no recent cached rate exists"
            )

    async def _ask(self, key: Pair, now: dt.datetime) -> Quote:
        self._asked[key] = now
        # Within one ask, each source is asked each pair at most once, and a source that
        # failed is not asked again: a down source costs one timeout, not one per route.
        answers: dict[tuple[int, Pair], Decimal | None] = {}
        failed: list[str] = []
        for route in self.routes(*key):
            rate: Decimal | None = None
            for leg in route.legs:
                answer = await self._leg_answer(leg, answers, failed)
                if answer is None:
                    rate = None
                    break
                if rate is None:
                    rate = answer  # the first leg: the source's rate, exactly
                elif leg.inverted:
                    rate = divide_rates(rate, answer)
                else:
                    rate = multiply_rates(rate, answer)
            if rate is None:
                continue
            quote = Quote(key[0], key[1], rate, route.name, now)
            self._cache[key] = quote
            return quote
        cached = self._young_cached(key, now)
        if cached is not None:
            return cached
        if failed:
            raise QuoteUnavailable(
                f"no price for {key[0]}/{key[1]}: sources {', '.join(failed)} are down "
                "and no recent cached rate exists"
            )
        raise QuoteUnavailable(f"no price source quotes {key[0]}/{key[1]}")

    async def _leg_answer(
        self, leg: Leg, answers: dict[tuple[int, Pair], Decimal | None], failed: list[str]
    ) -> Decimal | None:
        """What the leg's source answers for the pair it is asked (None: no rate now).

        A source that failed (by name: sources sharing a name share an upstream) is not asked
        again in the same ask.
        """
        if leg.source.name in failed:
            return None
        asked = (id(leg.source), leg.asked)
        if asked not in answers:
            try:
                raw = await leg.source.price(*leg.asked)
                answers[asked] = None if raw is None else _positive_rate(Decimal(raw))
            except (ValueError, InvalidOperation):
                log.warning(
                    "price source %s answered a bad rate for %s/%s", leg.source.name, *leg.asked
                )
                failed.append(leg.source.name)
                return None
            except Exception as error:  # one source down must not block checkout
                log.warning(
                    "price source %s failed for %s/%s: %s", leg.source.name, *leg.asked, error
                )
                failed.append(leg.source.name)
                return None
        return answers[asked]

    def _young_cached(self, key: Pair, now: dt.datetime) -> Quote | None:
        """The last good rate if it is young enough to stand in for an answer."""
        cached = self._cache.get(key)
        if cached is not None and now - cached.at <= self.max_age:
            return cached
        return None


@hookimpl(tryfirst=True)
def register_price_sources(settings: Settings) -> list[PriceSource]:
    """The operator's fixed rates (`fixed_rates`), asked before any market source."""
    if not settings.fixed_rates:
        return []
    try:
        return [FixedRateSource(settings.fixed_rates, name="operator")]
    except ValueError as error:  # a misspelt pair stops startup, never a quote
        raise PluginError(f"fixed_rates: {error}") from None
