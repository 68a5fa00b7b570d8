"""API secret keys: creation (shown once), hashing, lookup and revocation."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from app.audit import audit
from app.models import ApiKey, Merchant, new_id, random_base62

_SECRET_CHARS = 32  # base62: 190 random bits


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def create_key(
    merchant: Merchant, livemode: bool, *, actor: str, ip: str | None = None
) -> CreatedKey:
    """A new key and its audit entry (`actor` made it: the CLI or a dashboard user)."""
    mode = "live" if livemode else "test"
    secret = f"sk_{mode}_{random_base62(_SECRET_CHARS)}"
    async with in_transaction() as connection:
        key = await ApiKey.create(
            id=new_id("key"),
            merchant=merchant,
            livemode=livemode,
            display=f"sk_{mode}_…{secret[-4:]}",
            secret_sha256=hash_secret(secret),
            using_db=connection,
        )
        await audit(
            merchant.id,
            actor,
            "api_key.created",
            object_id=key.id,
            details={"livemode": livemode, "display": key.display},
            ip=ip,
            connection=connection,
        )
    return CreatedKey(key=key, secret=secret)


# Found keys are remembered this long per process, so that a busy client costs one lookup
# per interval rather than one per request. Revocation is a database write that other
# processes only see at their next lookup: it takes effect everywhere within this time (the
# revoking process forgets the key at once). The merchant read with the key (payout
# addresses checked at session creation) may be as old, too; payments read it afresh.
KEY_CACHE_SECONDS = 0.5
# Unknown secrets are not remembered: every guess costs a lookup, exactly as before, and a
# flood of random keys cannot grow the cache. This bounds the cache of found keys.
_KEY_CACHE_MAX = 10_000


@dataclass(slots=True)
class _CachedKey:
    key: ApiKey  # with its merchant
    fresh_until: float  # time.monotonic()


_key_cache: dict[str, _CachedKey] = {}


async def find_active_key(secret: str) -> ApiKey | None:
    """The unrevoked key with this secret and its merchant (one query, or none when the
    same secret was found less than `KEY_CACHE_SECONDS` ago in this process), or None."""
    secret_sha256 = hash_secret(secret)
    cached = _key_cache.get(secret_sha256)
    if cached is not None and time.monotonic() < cached.fresh_until:
        return cached.key
    # Concurrent requests with the same secret share one lookup: at each expiry a busy
    # client's requests would otherwise all miss at once.
    lookup = _lookups.get(secret_sha256)
    if lookup is None or lookup.get_loop() is not asyncio.get_running_loop():
        lookup = asyncio.ensure_future(_look_up(secret_sha256))
        _lookups[secret_sha256] = lookup
        lookup.add_done_callback(lambda _: _lookups.pop(secret_sha256, None))
    return await asyncio.shield(lookup)  # one request cancelled does not cancel the others'


_lookups: dict[str, asyncio.Future[ApiKey | None]] = {}


async def _look_up(secret_sha256: str) -> ApiKey | None:
    now = time.monotonic()
    key = (
        await ApiKey.filter(secret_sha256=secret_sha256, revoked_at=None)
        .select_related("merchant")
        .first()
    )
    if key is None:
        _key_cache.pop(secret_sha256, None)
        return None
    if len(_key_cache) >= _KEY_CACHE_MAX:
        _key_cache.clear()
    # From before the lookup, so an entry never outlives a revocation by more than the TTL.
    _key_cache[secret_sha256] = _CachedKey(key, now + KEY_CACHE_SECONDS)
    return key


def forget_cached_keys() -> None:
    """Look every key up again at its next use (tests, and revocation in this process)."""
    _key_cache.clear()


async def revoke_key(key_id: str, *, actor: str, ip: str | None = None) -> bool:
    """Revoke an active key (False when there is none) and audit it."""
    async with in_transaction() as connection:
        key = await ApiKey.filter(id=key_id, revoked_at=None).using_db(connection).first()
        updated = (
            await ApiKey.filter(id=key_id, revoked_at=None)
            .using_db(connection)
            .update(revoked_at=dt.datetime.now(dt.UTC))
        )
        if key is not None and updated == 1:
            await audit(
                key.merchant_id,
                actor,
                "api_key.revoked",
                object_id=key.id,
                details={"livemode": key.livemode, "display": key.display},
                ip=ip,
                connection=connection,
            )
    # This process stops accepting the key now; the others within KEY_CACHE_SECONDS.
    for secret_sha256, cached in list(_key_cache.items()):
        if cached.key.id == key_id:
            del _key_cache[secret_sha256]
    return updated == 1
