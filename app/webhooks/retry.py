"""The retry policy: when a failed delivery is tried again, and for how long."""

from __future__ import annotations

import datetime as dt
import email.utils
import random

# Seconds to wait after failed attempt n (1-based) before attempt n+1; the first attempt is
# immediate. After the list: daily, until RETRY_WINDOW after the event (the last attempt is
# pulled in to land exactly at the window's end).
RETRY_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
DAILY = 86_400.0
RETRY_WINDOW = dt.timedelta(days=3)
JITTER = 0.1  # ±10 %, so endpoints that failed together don't retry in lockstep
MAX_RETRY_AFTER = DAILY
STALE_GRACE = dt.timedelta(days=1)


def retry_delay(attempt_number: int, rng: random.Random | None = None) -> float:
    """Seconds after failed attempt `attempt_number` (1-based), with jitter."""
    base = RETRY_DELAYS[attempt_number - 1] if attempt_number <= len(RETRY_DELAYS) else DAILY
    return base * (1 + (rng or random).uniform(-JITTER, JITTER))


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def next_attempt_at(
    attempt_number: int,
    now: dt.datetime,
    retry_until: dt.datetime,
    retry_after: float | None = None,
) -> dt.datetime | None:
    """When to try again after a failed attempt, or None when retries are exhausted."""
    delay = retry_delay(attempt_number)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    when = now + dt.timedelta(seconds=delay)
    if when <= retry_until:
        return when
    # One last try at the end of the window, unless it is (nearly) now anyway.
    if retry_until - now > dt.timedelta(seconds=RETRY_DELAYS[0]):
        return retry_until
    return None
