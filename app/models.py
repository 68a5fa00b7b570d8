"""Tortoise models: the data model of architecture §3."""

from __future__ import annotations

import secrets
import string
from typing import Any

from tortoise import fields
from tortoise.models import Model

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_RANDOM_CHARS = 24  # 24 base62 characters carry 142 random bits.


# Random bytes to base62 in one C call: byte b is _ID_ALPHABET[b % 62]; bytes 248-255 are
# dropped (248 = 4 x 62) so that every character stays equally likely.
_BASE62_OF_BYTE = bytes(ord(_ID_ALPHABET[byte % 62]) for byte in range(248)) + bytes(8)
_BASE62_REJECTED = bytes(range(248, 256))


def random_base62(length: int) -> str:
    """`length` uniformly random base62 characters, from one `secrets.token_bytes` call
    (rarely two: 3 % of bytes are dropped, and 8 spare bytes cover that almost always)."""
    text = b""
    while len(text) < length:
        raw = secrets.token_bytes(length - len(text) + 8)
        text += raw.translate(_BASE62_OF_BYTE, _BASE62_REJECTED)
    return text[:length].decode("ascii")


def new_id(prefix: str) -> str:
    """An unguessable object id such as `cs_test_3fZ…` (≥ 128 random bits)."""
    return f"{prefix}_{random_base62(_ID_RANDOM_CHARS)}"


# Addresses, references, transaction ids and block hashes are the networks' opaque strings:
# room for any chain's spelling (base58 signatures are 88 characters, bech32 addresses ~90).
OPAQUE_ID_LENGTH = 128

UINT256_MAX = 2**256 - 1
_UINT256_DIGITS = 78  # len(str(2**256 - 1))
_UINT256_ZERO = "0" * _UINT256_DIGITS  # a database default, spelt as the field stores it


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
    # A plain transfer this many basis points short of the amount still confirms (default 0).
    underpayment_tolerance_bps = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "merchants"


class ApiKey(Model):
    """A merchant's secret key; only its SHA-256 is stored."""

    id = fields.CharField(primary_key=True, max_length=40)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="api_keys", on_delete=fields.RESTRICT
    )
    merchant_id: str  # set by Tortoise from the foreign key
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
    merchant_id: str  # set by Tortoise from the foreign key
    livemode = fields.BooleanField()
    status = fields.CharField(max_length=16, db_index=True)
    # Stripe's session mode; "payment" is the only one (no subscriptions or setup).
    mode = fields.CharField(max_length=16, default="payment", db_default="payment")
    amount_fiat_cents = fields.BigIntField()
    fiat_currency = fields.CharField(max_length=3)
    allowed_crypto_currencies: list[str] = fields.JSONField()
    allowed_networks: list[str] = fields.JSONField()
    payment_id = fields.CharField(max_length=48, null=True)
    # The checkout page's language: "auto" (the shopper's Accept-Language) or a locale code.
    locale = fields.CharField(max_length=16, default="auto", db_default="auto")
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


class LineItem(Model):
    """One line of what a session sells (Stripe's `line_items`); the session's amount is
    their total. Stored once at creation, never changed."""

    id = fields.CharField(primary_key=True, max_length=40)
    session: fields.ForeignKeyRelation[CheckoutSession] = fields.ForeignKeyField(
        "models.CheckoutSession", related_name="line_items", on_delete=fields.CASCADE
    )
    session_id: str  # set by Tortoise from the foreign key
    position = fields.SmallIntField()
    name = fields.CharField(max_length=250)
    description = fields.CharField(max_length=500, null=True)
    currency = fields.CharField(max_length=3)
    unit_amount = fields.BigIntField()  # minor units of `currency`
    quantity = fields.IntField()
    amount_total = fields.BigIntField()  # unit_amount × quantity

    class Meta:
        table = "line_items"
        unique_together = (("session_id", "position"),)


class Event(Model):
    """An append-only record of something that happened; webhooks deliver these."""

    id = fields.CharField(primary_key=True, max_length=40)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="events", on_delete=fields.RESTRICT
    )
    merchant_id: str  # set by Tortoise from the foreign key
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
    # True when response_body is encrypted (it carries a secret, e.g. a webhook secret).
    sealed = fields.BooleanField(default=False, db_default=False)
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
    session_id: str  # set by Tortoise from the foreign key
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="payments", on_delete=fields.RESTRICT
    )
    merchant_id: str  # set by Tortoise from the foreign key
    livemode = fields.BooleanField()
    status = fields.CharField(max_length=16, db_index=True)
    network = fields.CharField(max_length=40)
    crypto_currency = fields.CharField(max_length=16)
    # None for the network's native coin; else the token as the network spells it.
    token_address = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True)
    amount_base_units = UInt256Field()
    decimals = fields.SmallIntField()
    amount_fiat_cents = fields.BigIntField()
    fiat_currency = fields.CharField(max_length=3)
    # The locked quote: price of one crypto unit in the fiat currency, its source and time.
    quote_rate = fields.CharField(max_length=80, default="0")
    quote_source = fields.CharField(max_length=64, default="")
    quote_at = fields.DatetimeField(null=True)
    # The terms the core decided (app.networks.PaymentTerms) …
    session_nonce = fields.BigIntField(default=0)
    recipient = fields.CharField(max_length=OPAQUE_ID_LENGTH, default="")
    fee_base_units = UInt256Field(default=0)
    deadline = fields.BigIntField(default=0)  # chain-time unix seconds, inclusive
    # … and what the network prepared for them (app.networks.PreparedPayment), all opaque.
    payment_ref = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True, unique=True)
    session_ref = fields.CharField(max_length=OPAQUE_ID_LENGTH, default="", db_default="")
    authorization = fields.TextField(null=True)
    wallet_request: dict[str, Any] | None = fields.JSONField(null=True)
    payment_uri = fields.TextField(null=True)
    # Where a plain transfer pays this payment (networks with deposit addresses), opaque.
    deposit_address = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True, db_index=True)
    # What reached the deposit address in the payment's token: seen (any depth) …
    amount_received = UInt256Field(default=0, db_default=_UINT256_ZERO)
    # … and at the payment's confirmation depth (what confirmation and underpayment use).
    amount_final = UInt256Field(default=0, db_default=_UINT256_ZERO)
    # Money seen at the deposit address that is not final yet (keeps the session open).
    transfer_in_flight = fields.BooleanField(default=False, db_default=False)
    # Confirmed after its session closed or after the payment itself expired.
    late = fields.BooleanField(default=False, db_default=False)
    # New final money at the deposit address that the sweeper has not forwarded yet.
    sweep_due = fields.BooleanField(default=False, db_default=False)
    # Gas the sweeper spent on this payment's deposit address (its share of each batch).
    sweep_gas = UInt256Field(default=0, db_default=_UINT256_ZERO)
    # What the network needs to sweep the deposit address later (opaque JSON).
    deposit_terms: dict[str, Any] | None = fields.JSONField(null=True)
    min_confirmations = fields.IntField(default=1)
    # Head block when created: a fresh watcher cursor starts no later than this.
    created_block = fields.BigIntField(null=True)
    # The transaction seen on chain (cleared if a reorg removes it).
    tx_hash = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True)
    block_number = fields.BigIntField(null=True)
    block_hash = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True)
    log_index = fields.IntField(null=True)
    payer = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True)
    confirmations = fields.IntField(default=0)
    confirmed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payments"
        indexes = (
            ("network", "status"),
            ("session_id", "created_at"),
            ("merchant_id", "livemode", "created_at"),  # GET /v1/payments
        )


class SessionNonce(Model):
    """A session's nonce index on one network (its `sessionRef`), sequential per network."""

    id = fields.BigIntField(primary_key=True)
    network = fields.CharField(max_length=40)
    session_id = fields.CharField(max_length=48)
    nonce_index = fields.BigIntField()

    class Meta:
        table = "session_nonces"
        unique_together = (("network", "session_id"), ("network", "nonce_index"))


class ChainObservation(Model):
    """One payment, deposit transfer or sweep as the network saw it in one block; idempotent
    per (tx, position, block). For transfers and sweeps `payment_ref` is the deposit address."""

    id = fields.BigIntField(primary_key=True)
    network = fields.CharField(max_length=40)
    # "intent" (a contract payment), "transfer" (to a deposit address) or "sweep" (from one).
    kind = fields.CharField(max_length=16, default="intent", db_default="intent")
    block_number = fields.BigIntField()
    block_hash = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    tx_hash = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    log_index = fields.IntField()
    session_ref = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    payment_ref = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    payment_id = fields.CharField(max_length=48, null=True)
    payer = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    # "" for the native coin.
    token = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    amount = UInt256Field()
    recipient = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    fee = UInt256Field()
    canonical = fields.BooleanField(default=True)
    # Why it did not credit its payment ("" when it matched).
    mismatch = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chain_observations"
        unique_together = (("network", "tx_hash", "log_index", "block_hash"),)
        indexes = (("network", "block_number"), ("payment_ref",))


class ChainCursor(Model):
    """Where a network's watcher stands; survives restarts."""

    network = fields.CharField(primary_key=True, max_length=40)
    block_number = fields.BigIntField()
    block_hash = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    block_timestamp = fields.BigIntField(default=0)
    # [[number, hash], ...] ascending: the recent canonical chain, for reorg walk-back.
    recent_hashes: list[list[Any]] = fields.JSONField(default=list)
    halted = fields.BooleanField(default=False)
    # For operators only (logs, `kassa networks list`, doctor): it may name a payment.
    halt_reason = fields.TextField(null=True)
    # The network's notices for the operator (`app.watcher.remember_notices`), newest last:
    # [{"message", "tx_id", "position", "block_number", "seen_at"}, ...].
    warnings: list[dict[str, Any]] = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "chain_cursors"


class WebhookEndpoint(Model):
    """A merchant URL that receives signed events; see `app.webhooks`."""

    id = fields.CharField(primary_key=True, max_length=40)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="webhook_endpoints", on_delete=fields.RESTRICT
    )
    merchant_id: str  # set by Tortoise from the foreign key
    livemode = fields.BooleanField()
    url = fields.CharField(max_length=2048)
    description = fields.CharField(max_length=500, null=True)
    # Event types, "*" or prefix wildcards such as "payment.*".
    enabled_events: list[str] = fields.JSONField()
    metadata: dict[str, str] = fields.JSONField(default=dict)
    # "enabled" or "disabled"; a 410 answer disables (disabled_reason says why).
    status = fields.CharField(max_length=16, default="enabled")
    disabled_reason = fields.CharField(max_length=200, null=True)
    # Encrypted by `app.secretbox`, newest first: [{"ciphertext": str, "expires_at": int|None}].
    # Several entries only during a rotation's overlap.
    signing_secrets: list[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "webhook_endpoints"
        indexes = (("merchant_id", "livemode", "created_at"),)


class WebhookDelivery(Model):
    """The outbox row: one event owed to one endpoint, written in the event's transaction."""

    id = fields.CharField(primary_key=True, max_length=40)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    # "pending" (waiting or in flight), "succeeded", "failed" (retries exhausted or 410).
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    # Due time; while a worker holds the lease it is the lease expiry.
    next_attempt_at = fields.DatetimeField()
    # Retries stop after this moment (3 days from the first attempt by default).
    retry_until = fields.DatetimeField()
    # Random per claim: a worker only records results for deliveries it still holds.
    lease_token = fields.CharField(max_length=40, null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_deliveries"
        unique_together = (("event_id", "endpoint_id"),)
        indexes = (("status", "next_attempt_at"), ("endpoint_id", "created_at"))


class WebhookAttempt(Model):
    """One HTTP attempt of a delivery, for the merchant's delivery log."""

    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "models.WebhookDelivery", related_name="attempt_log", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    started_at = fields.DatetimeField()
    duration_ms = fields.IntField()
    status_code = fields.IntField(null=True)
    error = fields.CharField(max_length=500, null=True)
    # At most 4 KiB of the answer, decoded leniently.
    response_body = fields.TextField(null=True)

    class Meta:
        table = "webhook_attempts"


class Heartbeat(Model):
    """The last time a kind of background loop ran, whichever process ran it.

    Webhook delivery leaves no other trace while nothing is due, so its worker writes here
    every few seconds and `kassa doctor` can tell a quiet outbox from a dead worker. One row
    per loop kind (not per process): the question is whether any worker is alive.
    """

    name = fields.CharField(primary_key=True, max_length=40)
    beat_at = fields.DatetimeField()
    # host:pid of the last process that beat, for the operator.
    process = fields.CharField(max_length=200)

    class Meta:
        table = "heartbeats"


class RateLimit(Model):
    """One rate-limit bucket (`app.ratelimit`), shared by every process that serves.

    A token bucket kept as the single moment it is full again (GCRA's "theoretical arrival
    time"): one atomic upsert per request both reads and spends it, on SQLite and PostgreSQL.
    A row whose moment has passed is a full bucket and may be deleted at any time.
    """

    bucket = fields.CharField(primary_key=True, max_length=200)
    # Unix seconds; wall clock of the processes, which NTP keeps within milliseconds.
    full_at = fields.FloatField()

    class Meta:
        table = "rate_limits"


class User(Model):
    """A person who signs in to a merchant's dashboard; see `app.dashboard.users`."""

    id = fields.CharField(primary_key=True, max_length=40)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="users", on_delete=fields.RESTRICT
    )
    merchant_id: str  # set by Tortoise from the foreign key
    # Lower-cased; one account per address across the whole installation.
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200)  # argon2id, with its parameters
    role = fields.CharField(max_length=16)  # "owner", "developer" or "viewer"
    # RFC 6238 secret, encrypted by `app.secretbox`; None until the user turns TOTP on.
    totp_secret_sealed = fields.TextField(null=True)
    # SHA-256 of each unused recovery code.
    recovery_code_hashes: list[str] = fields.JSONField(default=list)
    # Wrong passwords in a row; each one past the allowance doubles the wait before the next try.
    failed_signins = fields.IntField(default=0, db_default=0)
    locked_until = fields.DatetimeField(null=True)
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step = fields.BigIntField(default=0, db_default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "users"


class DashboardSession(Model):
    """A signed-in browser: server-side, so sign-out (everywhere) takes effect at once."""

    # SHA-256 of the cookie's random token; the token itself is never stored.
    id = fields.CharField(primary_key=True, max_length=64)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="dashboard_sessions", on_delete=fields.CASCADE
    )
    user_id: str  # set by Tortoise from the foreign key
    # False while the password was right but the TOTP code is still owed.
    second_factor_done = fields.BooleanField(default=True)
    livemode = fields.BooleanField(default=False)  # the test/live toggle
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()

    class Meta:
        table = "dashboard_sessions"


class AuditLog(Model):
    """Who did what to a merchant's account, from the dashboard, the API or the CLI."""

    id = fields.BigIntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="audit_log", on_delete=fields.RESTRICT
    )
    merchant_id: str  # set by Tortoise from the foreign key
    # "user:usr_…", "key:key_…" or "cli".
    actor = fields.CharField(max_length=80)
    action = fields.CharField(max_length=64)  # e.g. "api_key.created"
    object_id = fields.CharField(max_length=64, null=True)
    details: dict[str, Any] = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "audit_log"
        indexes = (("merchant_id", "created_at"),)


class Refund(Model):
    """Money the merchant sends back for a confirmed payment, from their own wallet; see
    `app.refunds` and `app.states`."""

    id = fields.CharField(primary_key=True, max_length=40)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="refunds", on_delete=fields.RESTRICT
    )
    merchant_id: str  # set by Tortoise from the foreign key
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    payment_id: str  # set by Tortoise from the foreign key
    livemode = fields.BooleanField()
    status = fields.CharField(max_length=24, db_index=True)
    # The payment's network and token; the amount in the token's base units.
    network = fields.CharField(max_length=40)
    crypto_currency = fields.CharField(max_length=16)
    token_address = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True)
    decimals = fields.SmallIntField()
    amount_base_units = UInt256Field()
    reason = fields.CharField(max_length=500, null=True)
    metadata: dict[str, str] = fields.JSONField(default=dict)
    # The shopper's capability to give the refund address (the claim link's secret).
    claim_token = fields.CharField(max_length=64, unique=True)
    # Where the refund goes (given on the claim page), normalised by the network plugin.
    address = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True)
    # Who must send it: the merchant's payout address on the network when it was created.
    from_address = fields.CharField(max_length=OPAQUE_ID_LENGTH)
    # The chain height when the address was given: the watcher looks for the transfer after it.
    watch_from_block = fields.BigIntField(null=True)
    # The merchant's transfer that pays it: set when first seen (still pending until it is
    # final, so a cancel cannot race it), and unique per network, so one transfer never pays
    # two refunds.
    tx_hash = fields.CharField(max_length=OPAQUE_ID_LENGTH, null=True)
    tx_position = fields.IntField(null=True)  # log index or position in the transaction
    block_number = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "refunds"
        unique_together = (("network", "tx_hash", "tx_position"),)
        indexes = (
            ("merchant_id", "livemode", "created_at"),
            ("network", "status"),
            ("payment_id",),  # a payment's refunds: what is left to refund, exports
        )
