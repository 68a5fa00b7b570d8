"""Who is calling (API keys from `Authorization: Bearer` or HTTP Basic), and what they own."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from quart import current_app, g, request
from tortoise.fields import CharField
from tortoise.models import Model

from app.api.errors import ApiError, not_found
from app.config import Settings
from app.keys import find_active_key
from app.models import ApiKey, Merchant
from app.ratelimit import Limit, retry_after, take

OwnedModel = TypeVar("OwnedModel", bound=Model)

# Refreshing `last_used_at` on every request would turn each read into a write.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Caller:
    api_key: ApiKey
    merchant: Merchant
    livemode: bool

    @property
    def merchant_id(self) -> str:
        return self.merchant.id


def _invalid_key() -> ApiError:
    # One answer for unknown, revoked and malformed keys: nothing to learn by probing.
    return ApiError(
        401,
        "authentication_error",
        "api_key_invalid",
        "Invalid API Key provided.",
        headers={"WWW-Authenticate": 'Bearer realm="kassa"'},
    )


def _secret_from_header(header: str) -> str:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_key() from None
        user, _, _password = decoded.partition(":")
        if user:
            return user
    raise _invalid_key()


async def authenticate(*, rate_limit: bool = True) -> Caller:
    """Resolve the calling key once per request and remember it in `g.caller`.

    `rate_limit=False` leaves spending the request's token to the caller, which must do it
    on every path (`check_rate_limit`, or with its own writes as session creation does)."""
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(
            401,
            "authentication_error",
            "api_key_missing",
            "You did not provide an API key. Use 'Authorization: Bearer sk_test_...'.",
            headers={"WWW-Authenticate": 'Bearer realm="kassa"'},
        )
    secret = _secret_from_header(header)
    if len(secret) > 200 or not secret.startswith(("sk_test_", "sk_live_")):
        raise _invalid_key()
    key = await find_active_key(secret)
    if key is None:
        raise _invalid_key()
    if rate_limit:
        await check_rate_limit(key)
    now = dt.datetime.now(dt.UTC)
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        await ApiKey.filter(id=key.id).update(last_used_at=now)
        key.last_used_at = now  # the key may be cached: the next requests need not write
    caller = Caller(api_key=key, merchant=key.merchant, livemode=key.livemode)
    g.caller = caller
    return caller


def rate_limit_bucket(key: ApiKey) -> tuple[str, Limit]:
    """The per-key token bucket every API request spends one token of."""
    settings: Settings = current_app.config["KASSA_SETTINGS"]
    limit = Limit(settings.api_requests_burst, 1.0 / settings.api_requests_per_second)
    return f"api-key:{key.id}", limit


def rate_limited(wait: float) -> ApiError:
    seconds = retry_after(wait)
    return ApiError(
        429,
        "rate_limit_error",
        "rate_limit",
        f"Too many requests with this API key; retry in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


async def check_rate_limit(key: ApiKey) -> None:
    """Per API key, across every process (one database statement per request)."""
    wait = await take(*rate_limit_bucket(key))
    if wait:
        raise rate_limited(wait)


def current_caller() -> Caller:
    caller: Caller = g.caller
    return caller


async def owned_by_caller(
    model: type[OwnedModel], object_id: str, what: str, param: str = "id"
) -> OwnedModel:
    """The caller's object in the caller's mode; anything else is the same plain 404."""
    primary_key = model._meta.pk
    assert isinstance(primary_key, CharField), f"{model.__name__} ids are not strings"
    if len(object_id) > primary_key.max_length or not object_id.isprintable():
        # No such id can exist, and the database would refuse the value rather than answer
        # "none"; echoed escaped and cut short so the message stays printable and small.
        raise not_found(what, object_id.encode("unicode_escape").decode()[:64], param)
    caller = current_caller()
    found = await model.get_or_none(
        id=object_id, merchant_id=caller.merchant_id, livemode=caller.livemode
    )
    if found is None:
        raise not_found(what, object_id, param)
    return found
