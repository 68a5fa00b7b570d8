"""Quotes: rounding up at token precision, sources, cache fallback, Chainlink, CoinGecko."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest
import respx
from eth_abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from app.money import FiatAmount, base_units_to_decimal, currency_exponent
from app.networks import RpcError
from app.quotes import (
    CoinGeckoSource,
    FixedRateSource,
    QuoteBook,
    QuoteUnavailable,
    crypto_units_for,
)
from plugins.evm.chainlink import ChainlinkFeedSource, decode_latest_round
from plugins.evm.network import RpcPool
from tests.chain import DevChain

rates = st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("10000000"), places=8, allow_nan=False
)


@given(
    cents=st.integers(min_value=1, max_value=10**12),
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD"]),
    rate=rates,
    decimals=st.sampled_from([0, 2, 6, 8, 18]),
)
def test_rounds_up_at_token_precision(cents: int, currency: str, rate: Decimal, decimals: int):
    if rate <= 0:
        return
    fiat = FiatAmount(cents, currency)
    units = crypto_units_for(fiat, rate, decimals)
    fiat_major = Fraction(cents, 10 ** currency_exponent(currency))
    value = Fraction(rate)
    assert Fraction(units, 10**decimals) * value >= fiat_major
    assert Fraction(units - 1, 10**decimals) * value < fiat_major
    assert Fraction(Decimal(base_units_to_decimal(units, decimals))) == Fraction(
        units, 10**decimals
    )


def test_rounding_examples_and_refusals() -> None:
    assert crypto_units_for(FiatAmount(2500, "USD"), Decimal(1), 6) == 25_000_000
    assert crypto_units_for(FiatAmount(1, "USD"), Decimal(3), 6) == 3334  # 0.003333… up
    assert crypto_units_for(FiatAmount(100, "JPY"), Decimal("0.0000001"), 0) == 10**9
    assert base_units_to_decimal(1, 18) == "0.000000000000000001"
    assert base_units_to_decimal(10**18, 18) == "1"
    with pytest.raises(ValueError):
        crypto_units_for(FiatAmount(1, "USD"), Decimal(0), 6)
    with pytest.raises(TypeError):
        FiatAmount(1.5, "USD")  # type: ignore[arg-type]


class Flaky:
    name = "flaky"

    def __init__(self) -> None:
        self.rate: Decimal | None = Decimal("2000")
        self.down = False

    def pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset({("ETH", "USD")})

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        if self.down:
            raise httpx.ConnectError("down")
        return self.rate if symbol == "ETH" else None


async def test_outage_falls_back_to_a_young_cached_rate() -> None:
    source = Flaky()
    book = QuoteBook([source], max_age_seconds=60)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert (await book.quote("ETH", "USD", t0)).rate == 2000
    source.down = True
    cached = await book.quote("ETH", "USD", t0 + dt.timedelta(seconds=59))
    assert cached.rate == 2000 and cached.at == t0 and cached.source == "flaky"
    with pytest.raises(QuoteUnavailable, match="flaky are down"):
        await book.quote("ETH", "USD", t0 + dt.timedelta(seconds=61))
    with pytest.raises(QuoteUnavailable, match="no price source quotes"):
        await QuoteBook([FixedRateSource({"ETH/USD": 1})], 60).quote("BTC", "USD")


async def test_reused_quotes_ask_the_sources_once_per_window() -> None:
    """What previews use: one ask per pair per window, whether the sources answered or not."""
    asked: list[str] = []

    class Counting(Flaky):
        async def price(self, symbol: str, fiat: str) -> Decimal | None:
            asked.append(symbol)
            return await super().price(symbol, fiat)

    source = Counting()
    book = QuoteBook([source], max_age_seconds=60)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    quotes = [await book.quote("ETH", "USD", t0, reuse_seconds=5) for _ in range(3)]
    assert [quote.rate for quote in quotes] == [2000] * 3 and asked == ["ETH"]
    # A payment's quote (no reuse) always asks.
    source.rate = Decimal("2100")
    assert (await book.quote("ETH", "USD", t0 + dt.timedelta(seconds=1))).rate == 2100
    assert len(asked) == 2
    source.down = True
    t6 = t0 + dt.timedelta(seconds=7)
    assert (await book.quote("ETH", "USD", t6, reuse_seconds=5)).rate == 2100  # the fallback
    assert len(asked) == 3
    # Within the window a failed ask is not repeated: the fallback, or a refusal once too old.
    assert (await book.quote("ETH", "USD", t6, reuse_seconds=5)).rate == 2100
    book.max_age = dt.timedelta(0)
    with pytest.raises(QuoteUnavailable, match="failed moments ago"):
        await book.quote("ETH", "USD", t6 + dt.timedelta(seconds=1), reuse_seconds=5)
    assert len(asked) == 3


@respx.mock
async def test_coingecko_simple_price() -> None:
    route = respx.get("https://cg.example/api/v3/simple/price").mock(
        return_value=httpx.Response(200, text='{"ethereum": {"eur": 1834.123456789012345}}')
    )
    source = CoinGeckoSource({"ETH": "ethereum"}, "https://cg.example/api/v3")
    price = await source.price("ETH", "EUR")
    assert price == Decimal("1834.123456789012345")  # exact: never a float
    assert route.calls.last.request.url.params["vs_currencies"] == "eur"
    assert await source.price("DOGE", "EUR") is None
    route.mock(return_value=httpx.Response(500))
    with pytest.raises(httpx.HTTPStatusError):
        await source.price("ETH", "EUR")
    route.mock(return_value=httpx.Response(200, json={"ethereum": {}}))
    with pytest.raises(RuntimeError, match="unexpected"):
        await source.price("ETH", "EUR")


def _round(answer: int, updated_at: int) -> bytes:
    return abi_encode(
        ["uint80", "int256", "uint256", "uint256", "uint80"], [7, answer, updated_at, updated_at, 7]
    )


def test_chainlink_decoding() -> None:
    price, updated = decode_latest_round(_round(312345000000, 1700000000), 8)
    assert price == Decimal("3123.45") and updated == 1700000000
    with pytest.raises(RpcError):
        decode_latest_round(_round(0, 1700000000), 8)


def mock_aggregator_initcode(answer: int, updated_at: int) -> str:
    """A 172-byte contract answering every call with the same 160 bytes: latestRoundData()
    with roundId 8 — which also reads as decimals() == 8 (first word)."""
    blob = abi_encode(
        ["uint80", "int256", "uint256", "uint256", "uint80"], [8, answer, updated_at, updated_at, 8]
    )
    # runtime: CODECOPY(0, 12, 160); RETURN(0, 160); then the blob
    runtime = bytes.fromhex("60a0600c60003960a06000f3") + blob
    # init: CODECOPY(0, 12, len(runtime)); RETURN(0, len(runtime)); then the runtime
    init = bytes.fromhex(f"60{len(runtime):02x}600c60003960{len(runtime):02x}6000f3")
    return "0x" + (init + runtime).hex()


@pytest.mark.chain
async def test_chainlink_feed_on_anvil(chain: DevChain) -> None:
    now = await chain.timestamp()
    roles = chain.kassa.roles
    tx_hash = await chain.w3.eth.send_transaction(
        {"from": roles.owner, "data": mock_aggregator_initcode(250012000000, now)}  # type: ignore[typeddict-item]
    )
    receipt: Any = await chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    feed = receipt["contractAddress"]
    rpc = RpcPool("devnet", [chain.node.rpc_url], timeout=5)
    try:
        source = ChainlinkFeedSource("devnet", rpc, {"ETH/USD": feed})
        assert await source.price("ETH", "USD") == Decimal("2500.12")
        assert await source.price("ETH", "EUR") is None
        source.max_age = -1  # every answer is now too old
        with pytest.raises(RpcError, match="stale"):
            await source.price("ETH", "USD")
    finally:
        await rpc.close()
