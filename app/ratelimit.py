"""Rate limits kept in the database, so a limit holds however many processes serve.

Each bucket is one `rate_limits` row (`app.models.RateLimit`) holding the moment it is full
again (`full_at`; GCRA's "theoretical arrival time"). A bucket of `burst` tokens that gains
one every `refill_seconds` has `burst - (full_at - now) / refill_seconds` tokens at `now`,
so one upsert both reads and spends it: it moves `full_at` one interval later only when a
token is there, and returns a row only then. The database serialises the upserts on the row,
so concurrent requests in several processes never spend the same token twice.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from app.models import RateLimit

# Written with PostgreSQL's `$n` placeholders; SQLite spells the same numbered ones `?n`.
# $1 bucket, $2 now, $3 refill interval, $4 now + interval (a fresh bucket after one
# token), $5 the latest `full_at` that still holds a token (now + (burst - 1) × interval).
TAKE_SQL = """
INSERT INTO rate_limits (bucket, full_at) VALUES ($1, $4)
ON CONFLICT (bucket) DO UPDATE
SET full_at = CASE WHEN rate_limits.full_at > $2 THEN rate_limits.full_at + $3 ELSE $4 END
WHERE rate_limits.full_at <= $5
RETURNING full_at
"""
_BUCKET_CHARS = 200  # RateLimit.bucket's width
_MIN_WAIT = 0.001


@dataclass(frozen=True, slots=True)
class Limit:
    """`burst` requests at once, then one more every `refill_seconds`."""

    burst: int
    refill_seconds: float


def _sql(template: str) -> str:
    if RateLimit._meta.db.capabilities.dialect == "sqlite":
        return template.replace("$", "?")
    return template


@dataclass(frozen=True, slots=True)
class Take:
    """One token's upsert, for `take` or for a caller that runs it with its own writes
    (`app.inserts`): `TAKE_SQL` with `values` ($1 to $5) returns a row only when spent."""

    bucket: str
    values: list[str | float]
    latest: float  # the latest `full_at` that still held a token

    def wait(self, full_at: float | None) -> float:
        """Refused, with the bucket's `full_at` read after the refusal (None: no row): the
        seconds until a token; never 0.0 (which means "allowed"), even if one arrived since."""
        behind = full_at - self.latest if full_at is not None else 0.0
        return max(behind, _MIN_WAIT)


def prepare_take(bucket: str, limit: Limit, now: float | None = None) -> Take:
    now = float(time.time() if now is None else now)
    bucket = bucket[:_BUCKET_CHARS]
    interval = float(limit.refill_seconds)
    latest = now + (limit.burst - 1) * interval
    return Take(bucket, [bucket, now, interval, now + interval, latest], latest)


async def take(bucket: str, limit: Limit, now: float | None = None) -> float:
    """Spend one token of `bucket`: 0.0 when there was one, else the seconds until there is."""
    token = prepare_take(bucket, limit, now)
    taken = await RateLimit._meta.db.execute_query_dict(_sql(TAKE_SQL), token.values)
    if taken:
        return 0.0
    # Refused: only now is the row read again, so the allowed path stays one statement.
    row = await RateLimit.get_or_none(bucket=token.bucket)
    return token.wait(row.full_at if row is not None else None)


def retry_after(wait: float) -> int:
    """A `Retry-After` value: whole seconds, at least one."""
    return max(1, math.ceil(wait))


async def prune_rate_limits(now: float | None = None) -> int:
    """Delete full buckets (they hold nothing a fresh row would not); returns how many."""
    now = time.time() if now is None else now
    return await RateLimit.filter(full_at__lt=now).delete()
