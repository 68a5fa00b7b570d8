"""Fiat rates and cross rates: the ECB's daily table (parsing, caching, staleness, outages),
operator fixed fiat rates, Chainlink fiat feeds on anvil, and the quote book's routes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest
import respx

from app.quotes import (
    CROSS_RATE_DIGITS,
    FixedRateSource,
    QuoteBook,
    QuoteUnavailable,
    divide_rates,
    multiply_rates,
)
from plugins.evm.chainlink import ChainlinkFeedSource
from plugins.evm.network import RpcPool
from plugins.fiat import EcbSource, EcbUnavailable, parse_ecb_table
from tests.chain import DevChain
from tests.networks.test_quotes import mock_aggregator_initcode

ECB_URL = "https://ecb.test/stats/eurofxref/eurofxref-daily.xml"
PEGS = {"USDC/USD": 1, "USDT/USD": 1}


def ecb_xml(day: str = "2026-11-27", **rates: str) -> str:
    """The ECB's daily file, as it is published (namespaces, single-quoted attributes)."""
    table = {"USD": "1.1604", "JPY": "181.52", "GBP": "0.87720", "CHF": "0.9351", **rates}
    cubes = "\n".join(
        f"\t\t\t<Cube currency='{currency}' rate='{rate}'/>" for currency, rate in table.items()
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" \
xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='{day}'>
{cubes}
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>"""


class Clock:
    """A settable clock for the ECB source's refresh and staleness decisions."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


# Monday 1 December 2026, 09:00 UTC: the newest table is Friday's (27 November).
MONDAY = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def ecb(clock: Clock, **options: Any) -> EcbSource:
    return EcbSource(ECB_URL, clock=clock, **options)


# ----------------------------------------------------------------------------- parsing


def test_parses_the_published_table_exactly() -> None:
    table = parse_ecb_table(ecb_xml())
    assert table.day == dt.date(2026, 11, 27)
    assert table.rates["GBP"] == Decimal("0.87720") and table.rates["JPY"] == Decimal("181.52")
    assert all(type(rate) is Decimal for rate in table.rates.values())  # never a float
    assert table.published_at == dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<html>maintenance</html", "not XML"),
        ("<Envelope><Cube></Cube></Envelope>", "one day, found 0"),
        (ecb_xml(day="27.11.2026"), "not a date"),
        (ecb_xml(GBP="n/a"), "not a number"),
        (ecb_xml(GBP="-1"), "GBP is -1"),
        (ecb_xml(GBP="0"), "GBP is 0"),
        (ecb_xml(gbp="1"), "names a currency 'gbp'"),
        ("<Envelope><Cube><Cube time='2026-11-27'/></Cube></Envelope>", "holds no rates"),
    ],
)
def test_refuses_what_is_not_a_table(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_ecb_table(text)


# ----------------------------------------------------------------------------- the source


@respx.mock
async def test_quotes_every_pair_among_its_currencies_from_one_fetch() -> None:
    route = respx.get(ECB_URL).mock(return_value=httpx.Response(200, text=ecb_xml()))
    source = ecb(Clock(MONDAY))
    assert await source.price("EUR", "GBP") == Decimal("0.87720")  # the table's, exactly
    # USD/GBP = GBP per EUR ÷ USD per EUR, to 40 significant digits, rounded down.
    usd_gbp = await source.price("USD", "GBP")
    assert usd_gbp == divide_rates(Decimal("0.87720"), Decimal("1.1604"))
    exact = Fraction(Decimal("0.87720")) / Fraction(Decimal("1.1604"))
    assert usd_gbp is not None and Fraction(usd_gbp) <= exact
    assert exact - Fraction(usd_gbp) < exact / 10 ** (CROSS_RATE_DIGITS - 1)
    assert await source.price("GBP", "EUR") == divide_rates(Decimal(1), Decimal("0.87720"))
    assert await source.price("USD", "JPY") == divide_rates(Decimal("181.52"), Decimal("1.1604"))
    assert await source.price("EUR", "XAF") is None  # the ECB does not publish it
    assert await source.price("EUR", "SEK") is None  # published, but not in this table
    assert route.call_count == 1  # the whole table at once
    # What it can quote is known without a fetch: session creation relies on that.
    assert ("USD", "GBP") in source.pairs() and ("GBP", "USD") in source.pairs()
    assert ("EUR", "XAF") not in source.pairs() and ("ETH", "EUR") not in source.pairs()


@respx.mock
async def test_refreshes_after_the_interval_and_keeps_the_newest_day() -> None:
    route = respx.get(ECB_URL).mock(return_value=httpx.Response(200, text=ecb_xml()))
    clock = Clock(MONDAY)
    source = ecb(clock, refresh_seconds=3600)
    assert await source.price("EUR", "GBP") == Decimal("0.87720")
    clock.advance(seconds=3599)
    assert await source.price("EUR", "CHF") == Decimal("0.9351")
    assert route.call_count == 1
    route.mock(return_value=httpx.Response(200, text=ecb_xml(day="2026-11-30", GBP="0.8801")))
    clock.advance(seconds=2)
    assert await source.price("EUR", "GBP") == Decimal("0.8801")
    assert route.call_count == 2
    # A mirror that still serves an older day never replaces the newer table.
    route.mock(return_value=httpx.Response(200, text=ecb_xml(day="2026-11-27")))
    clock.advance(hours=2)
    assert await source.price("EUR", "GBP") == Decimal("0.8801")
    assert route.call_count == 3


@respx.mock
async def test_outage_keeps_the_held_table_until_it_is_stale() -> None:
    route = respx.get(ECB_URL).mock(return_value=httpx.Response(200, text=ecb_xml()))
    clock = Clock(MONDAY)
    source = ecb(clock, refresh_seconds=3600, max_age_seconds=4 * 86400)
    assert await source.price("EUR", "GBP") == Decimal("0.87720")
    route.mock(side_effect=httpx.ConnectError("ECB down"))
    clock.advance(hours=2)
    assert await source.price("EUR", "GBP") == Decimal("0.87720")  # Friday's table stands
    assert route.call_count == 2
    # A failed fetch is retried after a minute, not on every quote.
    clock.advance(seconds=30)
    await source.price("EUR", "GBP")
    assert route.call_count == 2
    clock.advance(seconds=31)
    await source.price("EUR", "GBP")
    assert route.call_count == 3
    # Friday 14:00 UTC + 4 days = Tuesday 14:00 UTC: older than that is refused.
    clock.now = dt.datetime(2026, 12, 1, 14, 1, tzinfo=dt.UTC)
    with pytest.raises(EcbUnavailable, match="from 2026-11-27, older than 345600 seconds"):
        await source.price("EUR", "GBP")


@respx.mock
async def test_a_fetched_table_that_is_already_stale_is_refused() -> None:
    respx.get(ECB_URL).mock(return_value=httpx.Response(200, text=ecb_xml(day="2026-11-20")))
    with pytest.raises(EcbUnavailable, match="2026-11-20"):
        await ecb(Clock(MONDAY)).price("EUR", "GBP")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="maintenance"),
        httpx.Response(200, text="<html>we moved</html>"),
        httpx.ConnectError("refused"),
    ],
)
@respx.mock
async def test_no_table_at_all_is_an_outage(answer: Any) -> None:
    route = respx.get(ECB_URL)
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    with pytest.raises(EcbUnavailable, match="could not be fetched"):
        await ecb(Clock(MONDAY)).price("EUR", "GBP")


def test_the_plugin_registers_it_unless_turned_off() -> None:
    from app.config import Settings
    from app.networks import build_registry
    from app.plugins import make_plugin_manager

    on = Settings(plugins=["fiat"], ecb_url=ECB_URL, ecb_max_age_seconds=7200)
    [source] = build_registry(on, make_plugin_manager(on)).price_sources
    assert isinstance(source, EcbSource) and source.name == "ecb"
    assert source.url == ECB_URL and source.max_age == dt.timedelta(hours=2)
    off = Settings(plugins=["fiat"], ecb_enabled=False)
    assert build_registry(off, make_plugin_manager(off)).price_sources == []


# ----------------------------------------------------------------------------- cross rates


@respx.mock
async def test_cross_rates_through_a_pivot_name_their_route() -> None:
    respx.get(ECB_URL).mock(return_value=httpx.Response(200, text=ecb_xml()))
    clock = Clock(MONDAY)
    book = QuoteBook(
        [
            FixedRateSource({"ETH/USD": "2000", "ETH/EUR": "1850"}, name="operator"),
            ecb(clock),
            FixedRateSource(PEGS, name="stablecoin-peg"),
        ],
        max_age_seconds=600,
    )
    usd_gbp = divide_rates(Decimal("0.87720"), Decimal("1.1604"))
    usdc = await book.quote("USDC", "GBP", MONDAY)
    assert usdc.source == "stablecoin-peg×ecb" and usdc.rate == usd_gbp
    eth = await book.quote("ETH", "JPY", MONDAY)
    # USD is the first pivot: ETH/USD × USD/JPY.
    usd_jpy = divide_rates(Decimal("181.52"), Decimal("1.1604"))
    assert eth.source == "operator×ecb" and eth.rate == multiply_rates(Decimal(2000), usd_jpy)
    # A direct rate wins over any cross rate.
    assert (await book.quote("ETH", "EUR", MONDAY)).source == "operator"
    assert (await book.quote("USDC", "USD", MONDAY)).source == "stablecoin-peg"
    assert book.can_quote("USDC", "CHF") and not book.can_quote("USDC", "XAF")
    with pytest.raises(QuoteUnavailable, match="no price source quotes USDC/XAF"):
        await book.quote("USDC", "XAF", MONDAY)


async def test_operator_fiat_rates_multiply_and_divide_exactly() -> None:
    """Fixed rates in either direction: ETH/USD × USD/GBP, and USDC/USD ÷ CHF/USD."""
    book = QuoteBook(
        [
            FixedRateSource({"ETH/USD": "2000.5", "USD/GBP": "0.79", "CHF/USD": "1.25"}),
            FixedRateSource(PEGS, name="stablecoin-peg"),
        ],
        max_age_seconds=600,
    )
    eth = await book.quote("ETH", "GBP")
    assert eth.rate == Decimal("1580.395") and eth.source == "fixed×fixed"  # exact product
    usdc = await book.quote("USDC", "CHF")
    assert usdc.rate == Decimal("0.8") and usdc.source == "stablecoin-peg÷fixed"
    thirds = QuoteBook(
        [FixedRateSource({"XYZ/USD": "1", "GBP/USD": "3"}, name="operator")], max_age_seconds=0
    )
    third = (await thirds.quote("XYZ", "GBP")).rate
    # 1/3 has no finite decimal: 40 threes, cut (not rounded up), so amounts only grow.
    assert third == Decimal("0." + "3" * CROSS_RATE_DIGITS)
    assert type(third) is Decimal


@respx.mock
async def test_fiat_outage_falls_back_to_a_young_cached_cross_rate() -> None:
    route = respx.get(ECB_URL).mock(return_value=httpx.Response(200, text=ecb_xml()))
    clock = Clock(MONDAY)
    source = ecb(clock, max_age_seconds=4 * 86400)
    book = QuoteBook([source, FixedRateSource(PEGS, name="stablecoin-peg")], max_age_seconds=600)
    first = await book.quote("USDC", "GBP", MONDAY)
    # Tuesday afternoon, no new table: the ECB source refuses its stale one...
    route.mock(side_effect=httpx.ConnectError("down"))
    clock.now = dt.datetime(2026, 12, 1, 14, 1, tzinfo=dt.UTC)
    with pytest.raises(EcbUnavailable):
        await source.price("USD", "GBP")
    # ... and the book stands in with its last cross rate while that is young enough.
    young = await book.quote("USDC", "GBP", first.at + dt.timedelta(seconds=600))
    assert young == first
    with pytest.raises(QuoteUnavailable, match="sources ecb are down"):
        await book.quote("USDC", "GBP", first.at + dt.timedelta(seconds=601))


async def test_a_down_source_is_asked_once_per_quote() -> None:
    """A source that fails is skipped on the pair's other routes (one timeout, not many)."""
    asked: list[tuple[str, str]] = []

    class Down:
        name = "down"

        def pairs(self) -> frozenset[tuple[str, str]]:
            return frozenset({("ETH", "USD"), ("ETH", "EUR"), ("ETH", "CHF")})

        async def price(self, symbol: str, fiat: str) -> Decimal | None:
            asked.append((symbol, fiat))
            raise httpx.ConnectTimeout("slow")

    fiat = FixedRateSource({"USD/GBP": "0.79", "EUR/GBP": "0.877", "CHF/GBP": "0.94"})
    book = QuoteBook([Down(), fiat], max_age_seconds=600)
    assert len(book.routes("ETH", "GBP")) == 3
    with pytest.raises(QuoteUnavailable, match="sources down are down"):
        await book.quote("ETH", "GBP")
    assert asked == [("ETH", "USD")]


@pytest.mark.chain
async def test_chainlink_fiat_feed_prices_a_stablecoin_in_gbp(chain: DevChain) -> None:
    """A Chainlink GBP/USD feed on chain: USDC/GBP = USDC/USD ÷ GBP/USD."""
    now = await chain.timestamp()
    tx_hash = await chain.w3.eth.send_transaction(
        {"from": chain.kassa.roles.owner, "data": mock_aggregator_initcode(126_500_000, now)}  # type: ignore[typeddict-item]
    )
    receipt: Any = await chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    rpc = RpcPool("devnet", [chain.node.rpc_url], timeout=5)
    try:
        feeds = ChainlinkFeedSource("devnet", rpc, {"GBP/USD": receipt["contractAddress"]})
        assert feeds.pairs() == frozenset({("GBP", "USD")})
        book = QuoteBook([feeds, FixedRateSource(PEGS, name="stablecoin-peg")], 600)
        quote = await book.quote("USDC", "GBP")
        assert quote.source == "stablecoin-peg÷chainlink:devnet"
        assert quote.rate == divide_rates(Decimal(1), Decimal("1.265"))
    finally:
        await rpc.close()


def test_a_misspelt_operator_pair_stops_startup() -> None:
    from app.config import Settings
    from app.networks import PluginError, build_registry
    from app.plugins import make_plugin_manager

    settings = Settings(plugins=[], fixed_rates={"USDGBP": "0.79"})
    with pytest.raises(PluginError, match="fixed_rates: a price pair is written SYMBOL/FIAT"):
        build_registry(settings, make_plugin_manager(settings))
