"""Database-backed rate limits (app/ratelimit.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from quart import Quart

from app.models import RateLimit
from app.ratelimit import Limit, prune_rate_limits, retry_after, take


def fresh(name: str) -> str:
    """A bucket no other test (or earlier run on this database) has touched."""
    return f"test:{name}:{secrets.token_hex(6)}"


async def test_bucket_refills_and_limits_per_key(app: Quart) -> None:
    limit = Limit(burst=2, refill_seconds=10)
    ip, other = fresh("ip"), fresh("other")
    assert await take(ip, limit, now=0) == 0
    assert await take(ip, limit, now=0) == 0
    assert await take(ip, limit, now=1) == 9.0
    assert await take(other, limit, now=1) == 0
    assert await take(ip, limit, now=10) == 0
    # A refusal spends nothing: the next token still comes 10 s after the last one taken.
    assert await take(ip, limit, now=11) == 9.0
    assert await take(ip, limit, now=20) == 0


async def test_concurrent_takes_never_share_a_token(app: Quart) -> None:
    """Many requests at once (as from several processes) get exactly `burst` tokens."""
    limit = Limit(burst=5, refill_seconds=3600)
    bucket = fresh("race")
    waits = await asyncio.gather(*(take(bucket, limit, now=1000.0) for _ in range(40)))
    assert sum(1 for wait in waits if wait == 0) == 5
    assert all(wait > 3500 for wait in waits if wait)


async def test_full_buckets_are_pruned(app: Quart) -> None:
    limit = Limit(burst=1, refill_seconds=10)
    spent, full = fresh("spent"), fresh("full")
    await take(spent, limit, now=100)
    await take(full, limit, now=50)  # full again at 60
    await prune_rate_limits(now=100)
    assert await RateLimit.filter(bucket=full).count() == 0
    assert await RateLimit.filter(bucket=spent).count() == 1
    assert await take(spent, limit, now=100) == 10.0


async def test_postgres_keeps_the_buckets_out_of_its_write_ahead_log(
    app: Quart, dialect: str
) -> None:
    """UNLOGGED (a hand edit of the migration): a bucket write costs no durable commit."""
    if dialect != "postgres":
        pytest.skip("a PostgreSQL table property")
    rows = await RateLimit._meta.db.execute_query_dict(
        "SELECT relpersistence::text AS persistence FROM pg_class WHERE relname = 'rate_limits'"
    )
    assert rows == [{"persistence": "u"}]


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after(0.001) == 1
    assert retry_after(1.0) == 1
    assert retry_after(1.2) == 2
