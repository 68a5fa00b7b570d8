"""API secret keys: creation (shown once), hashing, lookup and revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from app.models import ApiKey, Merchant, new_id, random_base62

_SECRET_CHARS = 32  # base62: 190 random bits


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def create_key(merchant: Merchant, livemode: bool) -> CreatedKey:
    mode = "live" if livemode else "test"
    secret = f"sk_{mode}_{random_base62(_SECRET_CHARS)}"
    key = await ApiKey.create(
        id=new_id("key"),
        merchant=merchant,
        livemode=livemode,
        display=f"sk_{mode}_…{secret[-4:]}",
        secret_sha256=hash_secret(secret),
    )
    return CreatedKey(key=key, secret=secret)


async def find_active_key(secret: str) -> ApiKey | None:
    """The unrevoked key with this secret and its merchant (one query), or None."""
    return (
        await ApiKey.filter(secret_sha256=hash_secret(secret), revoked_at=None)
        .select_related("merchant")
        .first()
    )


async def revoke_key(key_id: str) -> bool:
    updated = await ApiKey.filter(id=key_id, revoked_at=None).update(
        revoked_at=dt.datetime.now(dt.UTC)
    )
    return updated == 1
