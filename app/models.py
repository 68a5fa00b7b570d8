"""Tortoise models: the data model of architecture §3."""

from __future__ import annotations

import secrets
import string
from typing import Any

from tortoise import fields
from tortoise.models import Model

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_RANDOM_CHARS = 24  # 24 base62 characters carry 142 random bits.


def random_base62(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """An unguessable object id such as `cs_test_3fZ…` (≥ 128 random bits)."""
    return f"{prefix}_{random_base62(_ID_RANDOM_CHARS)}"


UINT256_MAX = 2**256 - 1
_UINT256_DIGITS = 78  # len(str(2**256 - 1))


class UInt256Field(fields.Field[int], int):  # type: ignore[misc]
    """A non-negative integer up to 2^256−1, e.g. token base units.

    Stored as a zero-padded 78-digit string on every database: SQLite INTEGER and
    BIGINT stop at 2^63, DECIMAL round-trips lose digits or change notation, and a
    fixed-width digit string compares and sorts like the number it spells.
    """

    SQL_TYPE = f"VARCHAR({_UINT256_DIGITS})"
    field_type = int

    def to_db_value(self, value: Any, instance: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{self.model_field_name} takes an int, not {type(value).__name__}")
        if not 0 <= value <= UINT256_MAX:
            raise ValueError(f"{self.model_field_name} is outside 0..2^256-1")
        return str(value).zfill(_UINT256_DIGITS)

    def to_python_value(self, value: Any) -> int | None:
        if value is None or isinstance(value, int):
            return value
        return int(value)


class Merchant(Model):
    """A business that sells through Kassa; payouts go straight to its own addresses."""

    id = fields.CharField(primary_key=True, max_length=40)
    name = fields.CharField(max_length=200)
    # {network key: checksum address}; funds never pass through Kassa.
    payout_addresses: dict[str, str] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "merchants"


class ApiKey(Model):
    """A merchant's secret key; only its SHA-256 is stored."""

    id = fields.CharField(primary_key=True, max_length=40)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="api_keys", on_delete=fields.RESTRICT
    )
    livemode = fields.BooleanField()
    # What the operator sees in listings, e.g. "sk_test_…a1B2".
    display = fields.CharField(max_length=40)
    secret_sha256 = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"


class CheckoutSession(Model):
    """What a shopper is asked to pay; see `app.states` for its statuses."""

    id = fields.CharField(primary_key=True, max_length=48)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="checkout_sessions", on_delete=fields.RESTRICT
    )
    livemode = fields.BooleanField()
    status = fields.CharField(max_length=16, db_index=True)
    amount_fiat_cents = fields.BigIntField()
    fiat_currency = fields.CharField(max_length=3)
    allowed_crypto_currencies: list[str] = fields.JSONField()
    allowed_networks: list[str] = fields.JSONField()
    payment_id = fields.CharField(max_length=48, null=True)
    # Fixed at creation from the operator's public URL, so links already sent stay valid.
    checkout_url = fields.CharField(max_length=2048)
    success_url = fields.CharField(max_length=2048)
    cancel_url = fields.CharField(max_length=2048)
    customer_email = fields.CharField(max_length=254, null=True)
    client_reference_id = fields.CharField(max_length=200, null=True)
    metadata: dict[str, str] = fields.JSONField(default=dict)
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "checkout_sessions"
        indexes = (("merchant_id", "livemode", "created_at"),)


class Event(Model):
    """An append-only record of something that happened; webhooks deliver these."""

    id = fields.CharField(primary_key=True, max_length=40)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="events", on_delete=fields.RESTRICT
    )
    livemode = fields.BooleanField()
    type = fields.CharField(max_length=64, db_index=True)
    object_id = fields.CharField(max_length=48, db_index=True)
    # The object(s) as they were when the event happened: {"object": {...}}.
    data: dict[str, Any] = fields.JSONField()
    request_id = fields.CharField(max_length=64, null=True)
    idempotency_key = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "events"
        indexes = (("merchant_id", "livemode", "created_at"),)


class IdempotencyRecord(Model):
    """The first response to a request with an `Idempotency-Key`, replayed for repeats."""

    id = fields.BigIntField(primary_key=True)
    api_key: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="idempotency_records", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=255)
    request_fingerprint = fields.CharField(max_length=64)
    # "in_progress" until the first request finishes, then "done".
    state = fields.CharField(max_length=16)
    response_status = fields.IntField(null=True)
    response_body = fields.TextField(null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_records"
        unique_together = (("api_key_id", "key"),)


class Payment(Model):
    """One attempt to pay a session on one (network, token); see `app.states`."""

    id = fields.CharField(primary_key=True, max_length=48)
    session: fields.ForeignKeyRelation[CheckoutSession] = fields.ForeignKeyField(
        "models.CheckoutSession", related_name="payments", on_delete=fields.RESTRICT
    )
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="payments", on_delete=fields.RESTRICT
    )
    livemode = fields.BooleanField()
    status = fields.CharField(max_length=16, db_index=True)
    network = fields.CharField(max_length=40)
    crypto_currency = fields.CharField(max_length=16)
    # None for the network's native coin.
    token_address = fields.CharField(max_length=42, null=True)
    amount_base_units = UInt256Field()
    decimals = fields.SmallIntField()
    amount_fiat_cents = fields.BigIntField()
    fiat_currency = fields.CharField(max_length=3)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payments"
