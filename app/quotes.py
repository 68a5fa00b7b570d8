"""Price quotes: price sources, the fallback cache, and fiat → crypto rounding (always up).

A rate is the price of one whole crypto unit (one coin or token) in the fiat currency's major
unit, as a `Decimal`. Amounts are `int` minor units (fiat) and base units (crypto); nothing
here touches a float.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING

from app.hookspecs import hookimpl
from app.http import outbound_client
from app.money import FiatAmount, currency_exponent
from app.networks import PriceSource

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


def _positive_rate(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"a rate must be a positive number, got {value}")
    return value


def crypto_units_for(fiat: FiatAmount, rate: Decimal, decimals: int) -> int:
    """Base units worth at least `fiat` at `rate`, rounded up (the merchant is never short).

    With u the result: u/10^decimals × rate ≥ fiat and (u−1)/10^decimals × rate < fiat.
    """
    rate_fraction = Fraction(_positive_rate(rate))
    fiat_major = Fraction(fiat.minor_units, 10 ** currency_exponent(fiat.currency))
    exact = fiat_major * 10**decimals / rate_fraction
    return -((-exact.numerator) // exact.denominator)


class FixedRateSource:
    """Fixed rates and pegs, e.g. a stablecoin's {"XYZ/USD": 1} or a local chain's coin."""

    def __init__(self, rates: Mapping[str, Decimal | str | int], name: str = "fixed") -> None:
        self.name = name
        self.rates = {
            pair.upper(): _positive_rate(Decimal(str(rate))) for pair, rate in rates.items()
        }

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        return self.rates.get(f"{symbol}/{fiat}".upper())


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

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        coin = self.coin_ids.get(symbol.upper())
        if coin is None:
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


class QuoteBook:
    """Asks the sources in order; remembers the last good rate per pair for outages."""

    def __init__(self, sources: Sequence[PriceSource], max_age_seconds: float) -> None:
        self.sources = list(sources)
        self.max_age = dt.timedelta(seconds=max_age_seconds)
        self._cache: dict[tuple[str, str], Quote] = {}
        # When each pair's sources were last asked, and one lock per pair for `reuse_seconds`.
        self._asked: dict[tuple[str, str], dt.datetime] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def quote(
        self,
        symbol: str,
        fiat: str,
        now: dt.datetime | None = None,
        reuse_seconds: float = 0.0,
    ) -> Quote:
        """The pair's rate from the first source that has one (the cached rate if all fail).

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

    async def _ask(self, key: tuple[str, str], now: dt.datetime) -> Quote:
        self._asked[key] = now
        failures: list[str] = []
        for source in self.sources:
            try:
                rate = await source.price(key[0], key[1])
            except Exception as error:  # one source down must not block checkout
                log.warning("price source %s failed for %s/%s: %s", source.name, *key, error)
                failures.append(source.name)
                continue
            if rate is None:
                continue
            try:
                rate = _positive_rate(Decimal(rate))
            except (ValueError, InvalidOperation):
                failures.append(source.name)
                continue
            quote = Quote(key[0], key[1], rate, source.name, now)
            self._cache[key] = quote
            return quote
        cached = self._young_cached(key, now)
        if cached is not None:
            return cached
        if failures:
            raise QuoteUnavailable(
                f"no price for {key[0]}/{key[1]}: sources {', '.join(failures)} are down "
                "and no recent cached rate exists"
            )
        raise QuoteUnavailable(f"no price source quotes {key[0]}/{key[1]}")

    def _young_cached(self, key: tuple[str, str], now: dt.datetime) -> Quote | None:
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
    return [FixedRateSource(settings.fixed_rates, name="operator")]
