"""Fiat exchange rates: the European Central Bank's daily reference rates, as a price source.

The ECB publishes one table per TARGET working day (around 16:00 CET): how much of ~30
currencies one euro buys. `EcbSource` quotes every pair among them (EUR/GBP, USD/JPY, …), so
the quote book can turn a USD-pegged stablecoin or an ETH/USD feed into a GBP or JPY price.
The whole table is fetched at once, kept for `ecb_refresh_seconds`, and refused once older
than `ecb_max_age_seconds`; between fetches no one is asked anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import permutations
from typing import Any

from app.hookspecs import hookimpl
from app.http import outbound_client
from app.networks import PriceSource
from app.quotes import divide_rates

log = logging.getLogger("kassa.fiat")

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
# The currencies the ECB publishes reference rates for (besides the euro itself). Declared up
# front so that session creation can tell which currencies are priceable without a fetch; a
# currency missing from a fetched table is simply not quoted that day.
ECB_CURRENCIES = frozenset(
    "USD JPY CZK DKK GBP HUF PLN RON SEK CHF ISK NOK TRY AUD BRL CAD CNY HKD IDR ILS INR KRW "
    "MXN MYR NZD PHP SGD THB ZAR".split()
)
# 16:00 CET is 15:00 UTC in winter and 14:00 UTC in summer; ages count from the earlier hour.
PUBLICATION_TIME_UTC = dt.time(14, 0)
# After a failed fetch, the next try waits at least this long (or the refresh interval, if
# shorter), so an outage costs one timeout per minute, not one per quote.
RETRY_AFTER_SECONDS = 60.0


class EcbUnavailable(RuntimeError):
    """No usable table: the fetch failed or the newest table is too old."""


@dataclass(frozen=True, slots=True)
class EcbTable:
    """One day's reference rates: `rates[X]` is how many X one euro buys."""

    day: dt.date
    rates: dict[str, Decimal]

    @property
    def published_at(self) -> dt.datetime:
        return dt.datetime.combine(self.day, PUBLICATION_TIME_UTC, tzinfo=dt.UTC)


def parse_ecb_table(text: str) -> EcbTable:
    """The table in the ECB's eurofxref XML (`<Cube time=…><Cube currency=… rate=…/>`).

    Rates stay exact decimals. ValueError when the document is not such a table.
    """
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(f"the ECB table is not XML: {error}") from None
    # Namespaced tags ("{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}Cube"): match
    # the local name, so a mirror that drops the namespace still parses.
    days = [
        element
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] == "Cube" and "time" in element.attrib
    ]
    if len(days) != 1:
        raise ValueError(f"the ECB table should hold one day, found {len(days)}")
    try:
        day = dt.date.fromisoformat(days[0].attrib["time"])
    except ValueError:
        raise ValueError(f"the ECB table's date {days[0].attrib['time']!r} is not a date") from None
    rates: dict[str, Decimal] = {}
    for cube in days[0]:
        currency = cube.attrib.get("currency", "")
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise ValueError(f"the ECB table names a currency {currency!r}")
        try:
            rate = Decimal(cube.attrib.get("rate", ""))
        except InvalidOperation:
            raise ValueError(f"the ECB rate for {currency} is not a number") from None
        if not rate.is_finite() or rate <= 0:
            raise ValueError(f"the ECB rate for {currency} is {rate}")
        rates[currency] = rate
    if not rates:
        raise ValueError("the ECB table holds no rates")
    return EcbTable(day, rates)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class EcbSource:
    """Fiat/fiat rates from the ECB's daily table (EUR base; crosses through the euro)."""

    def __init__(
        self,
        url: str = ECB_DAILY_URL,
        refresh_seconds: float = 3600.0,
        max_age_seconds: float = 5 * 86400.0,
        timeout: float = 5.0,
        name: str = "ecb",
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.name = name
        self.url = url
        self.refresh = dt.timedelta(seconds=refresh_seconds)
        self.max_age = dt.timedelta(seconds=max_age_seconds)
        self.timeout = timeout
        self.clock = clock
        self._pairs = frozenset(permutations(ECB_CURRENCIES | {"EUR"}, 2))
        self._table: EcbTable | None = None
        self._fetch_after: dt.datetime | None = None
        self._lock = asyncio.Lock()

    def pairs(self) -> frozenset[tuple[str, str]]:
        return self._pairs

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        """How many `fiat` one `symbol` buys: EUR/X is the table's rate exactly; X/Y is
        rate(Y) ÷ rate(X), rounded down (see `app.quotes.divide_rates`)."""
        pair = (symbol.upper(), fiat.upper())
        if pair not in self._pairs:
            return None
        table = await self.table()
        rates = {"EUR": Decimal(1), **table.rates}
        if pair[0] not in rates or pair[1] not in rates:
            return None
        if pair[0] == "EUR":
            return rates[pair[1]]
        return divide_rates(rates[pair[1]], rates[pair[0]])

    async def table(self) -> EcbTable:
        """The held table, fetched again once `refresh` has passed; EcbUnavailable when there
        is none or it is older than `max_age` (a failed refetch keeps the held one)."""
        async with self._lock:  # concurrent quotes share one fetch
            now = self.clock()
            if self._fetch_after is None or now >= self._fetch_after:
                try:
                    fetched = await self._fetch()
                except Exception as error:
                    self._fetch_after = now + min(
                        self.refresh, dt.timedelta(seconds=RETRY_AFTER_SECONDS)
                    )
                    log.warning("ECB rates could not be fetched from %s: %s", self.url, error)
                    if self._table is None:
                        raise EcbUnavailable(f"ECB rates could not be fetched: {error}") from None
                else:
                    self._fetch_after = now + self.refresh
                    # A mirror still serving an older day never replaces a newer table.
                    if self._table is None or fetched.day >= self._table.day:
                        self._table = fetched
            table = self._table
        assert table is not None
        if now - table.published_at > self.max_age:
            raise EcbUnavailable(
                f"the newest ECB table is from {table.day.isoformat()}, older than "
                f"{self.max_age.total_seconds():.0f} seconds"
            )
        return table

    async def _fetch(self) -> EcbTable:
        # A URL the operator configured, so no SSRF guard; their proxy settings apply, and a
        # moved file (a redirect) is followed.
        async with outbound_client(
            timeout=self.timeout, follow_redirects=True, trust_env=True
        ) as client:
            response = await client.get(self.url)
        response.raise_for_status()
        return parse_ecb_table(response.text)


@hookimpl
def register_price_sources(settings: Any) -> list[PriceSource]:
    """The ECB's rates, unless the operator turned them off (`ecb_enabled = false`)."""
    if not settings.ecb_enabled:
        return []
    return [
        EcbSource(
            settings.ecb_url,
            refresh_seconds=settings.ecb_refresh_seconds,
            max_age_seconds=settings.ecb_max_age_seconds,
        )
    ]
