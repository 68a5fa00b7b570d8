"""Pydantic models of the API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from app.i18n import AUTO_LOCALE, SUPPORTED_LOCALES, supported_locale
from app.money import MAX_AMOUNT_FIAT_CENTS
from app.objects import MAX_UNIX_TIME
from app.states import (
    PaymentStatus,
    RefundStatus,
    SessionStatus,
    WebhookDeliveryStatus,
    WebhookEndpointStatus,
)
from app.webhooks.outbox import event_type_pattern_valid


def _integer_from_form(value: Any) -> Any:
    """Form bodies carry every value as text; "900" means 900. Booleans are not integers."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value.strip()):
        return int(value.strip())
    return value


FormInt = Annotated[int, BeforeValidator(_integer_from_form), Field(strict=True)]


_CSP_SYNTAX = frozenset("*;,")
# What str.isspace() calls whitespace (re's \s for str patterns is the same set), and C0
# controls: one C-level scan rather than a Python test per character.
_URL_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


def _check_http_url(value: str) -> str:
    if len(value) > 2048:
        raise PydanticCustomError("url_invalid", "The URL must be at most 2048 characters.")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise PydanticCustomError("url_invalid", "Not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not host:
        raise PydanticCustomError("url_invalid", "Use an absolute http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise PydanticCustomError("url_invalid", "The URL must not contain credentials.")
    # The checkout's Content-Security-Policy lists the merchant's origins; there `*` is a
    # wildcard and `;` and `,` end a directive or a policy. No DNS name or IP holds them.
    if any(ch in host for ch in _CSP_SYNTAX):
        raise PydanticCustomError("url_invalid", "The URL's host must not contain '*', ';' or ','.")
    if _URL_SPACE_OR_CONTROL.search(value):
        raise PydanticCustomError("url_invalid", "The URL must not contain whitespace.")
    return value


HttpUrlText = Annotated[str, Field(strict=True), AfterValidator(_check_http_url)]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _check_email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise PydanticCustomError("email_invalid", "Not a valid email address.")
    return value


EmailText = Annotated[str, Field(strict=True), AfterValidator(_check_email)]

NetworkKey = Annotated[
    str,
    Field(strict=True),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$"),
]
CryptoSymbol = Annotated[
    str,
    Field(strict=True),
    StringConstraints(pattern=r"^[A-Za-z0-9.]{1,16}$", to_upper=True),
]


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 50:
        raise PydanticCustomError("metadata_invalid", "metadata takes at most 50 keys.")
    for key, item in value.items():
        if not 1 <= len(key) <= 40:
            raise PydanticCustomError("metadata_invalid", "metadata keys are 1 to 40 characters.")
        if len(item) > 500:
            raise PydanticCustomError(
                "metadata_invalid", "metadata values are at most 500 characters."
            )
    return value


Metadata = Annotated[
    dict[Annotated[str, Field(strict=True)], Annotated[str, Field(strict=True)]],
    AfterValidator(_check_metadata),
]


class Params(BaseModel):
    """Every request model refuses unknown parameters."""

    model_config = ConfigDict(extra="forbid")


CurrencyCode = Annotated[str, Field(strict=True, min_length=3, max_length=3)]
MAX_LINE_ITEMS = 100


class ProductData(Params):
    """What a line item sells (`line_items[i][price_data][product_data]`)."""

    name: Annotated[str, Field(strict=True, min_length=1, max_length=250)] = Field(
        description="Shown to the shopper; the line item's `description` in responses."
    )
    description: Annotated[str, Field(strict=True, max_length=500)] | None = None


class PriceData(Params):
    """A line item's price (`line_items[i][price_data]`), in minor units like Stripe's."""

    currency: CurrencyCode = Field(
        description="ISO 4217 code; the same for every item, and fiat_currency if given."
    )
    unit_amount: FormInt | None = Field(
        default=None,
        ge=0,
        le=MAX_AMOUNT_FIAT_CENTS,
        description="Integer price of one unit in the currency's minor unit (1250 = 12.50 GBP).",
    )
    unit_amount_decimal: Annotated[str, Field(strict=True, max_length=40)] | None = Field(
        default=None,
        description='The same as a decimal string of minor units ("1250"); it must be whole. '
        "Give unit_amount or unit_amount_decimal.",
    )
    product_data: ProductData


class LineItemCreate(Params):
    """One element of `line_items` on `POST /v1/checkout/sessions`."""

    price_data: PriceData
    quantity: FormInt = Field(ge=1, le=9999)


def _check_mode(value: str) -> str:
    if value != "payment":
        raise PydanticCustomError(
            "mode_unsupported",
            'Only mode "payment" is supported (one-time payments; no subscriptions or setup).',
        )
    return value


def _normalize_locale(value: str) -> str:
    """ "auto", or a supported language: "de", "DE", "de-CH" and "de_CH" are stored as "de"."""
    if value.strip().lower() == AUTO_LOCALE:
        return AUTO_LOCALE
    supported = supported_locale(value)
    if supported is None:
        raise PydanticCustomError(
            "locale_unsupported",
            "Unsupported locale {value!r}: use auto or one of {supported} (a region such as "
            "de-CH is accepted and its language used).",
            {"value": value, "supported": ", ".join(SUPPORTED_LOCALES)},
        )
    return supported


class CheckoutSessionCreate(Params):
    """Body of `POST /v1/checkout/sessions`."""

    amount_fiat: Annotated[str, Field(strict=True, max_length=40)] | None = Field(
        default=None,
        description='Decimal string in the currency, e.g. "50.00". '
        "Or amount_fiat_cents, or line_items.",
    )
    amount_fiat_cents: FormInt | None = Field(
        default=None,
        description="Integer amount in the currency's minor unit. Or amount_fiat, or line_items.",
    )
    line_items: list[LineItemCreate] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LINE_ITEMS,
        description="What is sold; the amount is their total. Or amount_fiat(_cents).",
    )
    fiat_currency: CurrencyCode | None = Field(
        default=None,
        description="ISO 4217 code, upper or lower case. Optional with line_items (theirs).",
    )
    currency: CurrencyCode | None = Field(
        default=None, description="Stripe's name for fiat_currency; give either."
    )
    mode: Annotated[
        str,
        Field(strict=True, max_length=16, json_schema_extra={"enum": ["payment"]}),
        AfterValidator(_check_mode),
    ] = "payment"
    locale: Annotated[
        str,
        Field(
            strict=True,
            max_length=16,
            json_schema_extra={"examples": ["auto", *SUPPORTED_LOCALES]},
        ),
        AfterValidator(_normalize_locale),
    ] = Field(
        default="auto",
        description="The checkout page's language: auto (the shopper's Accept-Language) or "
        f"one of {', '.join(SUPPORTED_LOCALES)}.",
    )
    allowed_crypto_currencies: list[CryptoSymbol] = Field(min_length=1, max_length=32)
    allowed_networks: list[NetworkKey] = Field(min_length=1, max_length=32)
    success_url: HttpUrlText
    cancel_url: HttpUrlText
    customer_email: EmailText | None = None
    expires_in: FormInt = Field(default=900, ge=60, le=86_400, description="Seconds until expiry.")
    metadata: Metadata = Field(default_factory=dict)
    client_reference_id: Annotated[str, Field(strict=True, min_length=1, max_length=200)] | None = (
        None
    )


class EmptyParams(Params):
    """An endpoint that takes no parameters."""


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _unix_from_time(value: Any) -> Any:
    """A `created` bound: Unix seconds, or an ISO 8601 time as the API shows them.

    "2025-11-23T13:05:00Z", with an offset ("+01:00") or fractional seconds; a time without
    an offset is UTC. Bounds compare whole seconds, like the timestamps objects carry, so a
    fraction is dropped. Integer arithmetic keeps year 9999's last second exact.
    """
    value = _integer_from_form(value)
    if not isinstance(value, str):
        return value
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError(
            "parameter_invalid_timestamp",
            "Use Unix seconds or an ISO 8601 time such as 2025-11-23T13:05:00Z.",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(seconds=1)


CreatedBound = Annotated[
    int,
    BeforeValidator(_unix_from_time),
    Field(strict=True, ge=0, le=MAX_UNIX_TIME),
]


class CreatedRange(Params):
    gt: CreatedBound | None = None
    gte: CreatedBound | None = None
    lt: CreatedBound | None = None
    lte: CreatedBound | None = None


def _exact_created(value: Any) -> Any:
    """`created=T` (exact second) is shorthand for `created[gte]=T&created[lte]=T`."""
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return {"gte": value, "lte": value}
    return value


ObjectId = Annotated[str, Field(strict=True, min_length=1, max_length=64)]


class CursorParams(Params):
    """Cursor pagination shared by every list endpoint."""

    limit: FormInt = Field(default=10, ge=1, le=100)
    starting_after: ObjectId | None = None
    ending_before: ObjectId | None = None


class ListParams(CursorParams):
    """Lists of objects with times: cursor pagination and `created` filters."""

    created: Annotated[CreatedRange | None, BeforeValidator(_exact_created)] = None


class CheckoutSessionListParams(ListParams):
    status: SessionStatus | None = None


class LineItemListParams(CursorParams):
    """`GET /v1/checkout/sessions/{id}/line_items`: pages in the items' order (no `created`)."""


# ---- response shapes (documentation and schema checks; objects.py builds the values) ----


IsoTime = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
        description='ISO 8601 UTC, whole seconds: "2025-11-23T13:05:00Z".',
        examples=["2025-11-23T13:05:00Z"],
    ),
]


class CheckoutSessionObject(BaseModel):
    id: str
    object: Literal["checkout.session"]
    livemode: bool
    status: SessionStatus
    mode: Literal["payment"]
    amount_fiat: str = Field(description='Decimal string in the currency, e.g. "50.00".')
    amount_fiat_cents: int = Field(description="Integer amount in the currency's minor unit.")
    fiat_currency: str = Field(description="ISO 4217 code, upper case.")
    allowed_crypto_currencies: list[str]
    allowed_networks: list[str]
    payment_id: str | None
    success_url: str
    cancel_url: str
    customer_email: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    locale: str = Field(description='The checkout page\'s language: "auto" or a locale code.')
    checkout_url: str
    expires_at: IsoTime
    created_at: IsoTime
    updated_at: IsoTime


class CheckoutSessionList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[CheckoutSessionObject]


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


# ---- webhook endpoints and events -------------------------------------------------------


def _check_event_pattern(value: str) -> str:
    if not event_type_pattern_valid(value):
        raise PydanticCustomError(
            "event_type_invalid",
            "Unknown event type '{value}': use '*', an event type such as 'payment.confirmed', "
            "or a prefix wildcard such as 'payment.*'.",
            {"value": value},
        )
    return value


EventTypePattern = Annotated[
    str, Field(strict=True, max_length=64), AfterValidator(_check_event_pattern)
]
Description = Annotated[str, Field(strict=True, max_length=500)]


class WebhookEndpointCreate(Params):
    """Body of `POST /v1/webhook_endpoints`."""

    url: HttpUrlText
    enabled_events: list[EventTypePattern] = Field(min_length=1, max_length=32)
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)


class WebhookEndpointUpdate(Params):
    """Body of `POST /v1/webhook_endpoints/{id}`: only the given fields change."""

    url: HttpUrlText | None = None
    enabled_events: list[EventTypePattern] | None = Field(default=None, min_length=1, max_length=32)
    description: Description | None = None
    metadata: Metadata | None = None
    disabled: bool | None = Field(default=None, description="true disables, false re-enables.")
    status: WebhookEndpointStatus | None = None


class WebhookSecretRotate(Params):
    """Body of `POST /v1/webhook_endpoints/{id}/rotate_secret`."""

    expires_in: FormInt = Field(
        default=86_400,
        ge=0,
        le=86_400,
        description="Seconds the old secret keeps signing next to the new one (0 = stop now).",
    )


class EventListParams(ListParams):
    type: (
        Annotated[
            str, Field(strict=True, max_length=64), StringConstraints(pattern=r"^[a-z_.]+\*?$|^\*$")
        ]
        | None
    ) = Field(default=None, description="An event type, or a prefix wildcard like 'payment.*'.")


class EventResend(Params):
    """Body of `POST /v1/events/{id}/resend`."""

    endpoint: ObjectId | None = Field(
        default=None, description="Only this endpoint (default: every subscribed endpoint)."
    )


class WebhookEndpointObject(BaseModel):
    id: str
    object: Literal["webhook_endpoint"]
    livemode: bool
    url: str
    description: str | None
    enabled_events: list[str]
    metadata: dict[str, str]
    status: WebhookEndpointStatus
    disabled_reason: str | None
    created_at: IsoTime
    secret: str | None = Field(default=None, description="Only when created or rotated.")


class WebhookEndpointList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[WebhookEndpointObject]


class DeletedObject(BaseModel):
    id: str
    object: str
    deleted: Literal[True]


class EventRequest(BaseModel):
    id: str | None
    idempotency_key: str | None


class EventObject(BaseModel):
    id: str
    object: Literal["event"]
    type: str
    created_at: IsoTime
    livemode: bool
    data: dict[str, Any] = Field(
        description="`object` (the object as it was); payment.* events add `payment` and "
        "`checkout_session` (id, status, metadata, client_reference_id); checkout.session.* "
        "events add `checkout_session`."
    )
    request: EventRequest


class EventList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[EventObject]


class WebhookAttemptObject(BaseModel):
    attempt: int
    started_at: IsoTime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None


class WebhookDeliveryObject(BaseModel):
    id: str
    object: Literal["webhook_delivery"]
    event: str
    event_type: str
    endpoint: str
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: IsoTime | None
    last_status_code: int | None
    last_error: str | None
    attempts: list[WebhookAttemptObject]
    created_at: IsoTime
    completed_at: IsoTime | None


class WebhookDeliveryList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[WebhookDeliveryObject]


# ---- payments and networks ----


class PaymentCreate(Params):
    """Body of `POST /v1/checkout/sessions/{id}/payments`."""

    network: NetworkKey = Field(description="Network key, as GET /v1/networks lists them.")
    crypto_currency: CryptoSymbol = Field(description="Token or coin symbol.")


class PaymentListParams(ListParams):
    """Query of `GET /v1/payments`."""

    status: PaymentStatus | None = None
    checkout_session: ObjectId | None = Field(
        default=None, description="Only this checkout session's payments (its id)."
    )
    network: NetworkKey | None = Field(default=None, description="Only payments on this network.")


class PaymentQuote(BaseModel):
    rate: str = Field(description="Price of one crypto unit in the fiat currency (decimal).")
    source: str
    at: IsoTime | None


class PaymentApprove(BaseModel):
    token: str
    spender: str
    amount: str


class PaymentObject(BaseModel):
    id: str
    object: Literal["payment"]
    livemode: bool
    status: Literal["pending", "confirmed", "expired"]
    session: str
    amount_fiat: str
    amount_fiat_cents: int
    fiat_currency: str = Field(description="ISO 4217 code, upper case.")
    amount_crypto: str = Field(description="Exact decimal string of the crypto amount.")
    amount_base_units: str = Field(description="Integer base units, as a string (> 2^53).")
    crypto_currency: str
    decimals: int
    network: str
    token_address: str | None
    quote: PaymentQuote
    recipient: str
    deposit_address: str | None = Field(
        description="Where a plain transfer from any wallet or exchange pays this payment."
    )
    deposit_terms: dict[str, Any] | None = Field(
        description="What sweeping the deposit address needs, in the network's own terms."
    )
    amount_received: str = Field(
        description="What arrived at the deposit address in this token (decimal string)."
    )
    late: bool = Field(
        description="Confirmed after its checkout session closed or after it expired."
    )
    fee_base_units: str
    to_contract: str
    data: str
    value: str
    approve: PaymentApprove | None
    eip681_uri: str
    min_confirmations: int
    expires_at: IsoTime = Field(description="Intent deadline, in the chain's time.")
    tx_hash: str | None
    block_number: int | None
    payer: str | None
    confirmations: int
    created_at: IsoTime
    updated_at: IsoTime


class PaymentCreated(BaseModel):
    """Answer of `POST /v1/checkout/sessions/{id}/payments`."""

    payment: PaymentObject = Field(
        description="The session's payment on the option: new, or the pending one still valid."
    )


class PaymentList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[PaymentObject]


class NetworkWatcher(BaseModel):
    status: Literal["starting", "running", "halted"]
    halt_reason: str | None = Field(
        description="Why payments are not confirmed while halted (the details are the operator's)."
    )
    block_number: int | None


class NetworkWarning(BaseModel):
    message: str = Field(
        description="What the chain showed that the operator must look at, e.g. the payment "
        "contract was paused or got a new signer."
    )
    tx_id: str
    block_number: int
    seen_at: IsoTime = Field(description="When the watcher saw it.")


class NetworkHealthCheck(BaseModel):
    name: str = Field(description='What was checked, e.g. "rpc #1" or "watcher".')
    ok: bool
    detail: str = Field(description="What was found and, when not ok, how to fix it.")


class NetworkObject(BaseModel):
    id: str
    object: Literal["network"]
    name: str
    # The chain as a CAIP-2 id, e.g. "eip155:1"; the network plugin's own facts follow
    # (EVM networks: chain_id and contract_address).
    chain: str
    chain_id: int | None = None
    testnet: bool
    contract_address: str | None = None
    explorer_url: str | None
    crypto_currencies: list[str]
    watcher: NetworkWatcher
    warnings: list[NetworkWarning] = Field(
        description="Notices from the chain in the last 7 days, oldest first (the operator was "
        "alerted too)."
    )
    health: list[NetworkHealthCheck] = Field(
        description="The checks `kassa doctor` runs for this network (at most 30 s old)."
    )


class NetworkList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[NetworkObject]


# ---- line items (GET /v1/checkout/sessions/{id}/line_items) ----


class LineItemProductData(BaseModel):
    name: str
    description: str | None


class LineItemPrice(BaseModel):
    unit_amount: int = Field(description="Price of one unit in the currency's minor unit.")
    currency: str
    product_data: LineItemProductData


class LineItemObject(BaseModel):
    id: str
    object: Literal["item"]
    description: str = Field(description="The product's name (Stripe's convention).")
    quantity: int
    currency: str = Field(description="Upper-case ISO 4217, like the session's fiat_currency.")
    amount_subtotal: int
    amount_total: int = Field(description="unit_amount × quantity, in minor units.")
    price: LineItemPrice


class LineItemList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[LineItemObject]


# ---- refunds ----


def _base_units(value: Any) -> Any:
    """Base units as digits; a JSON integer is accepted too (booleans are not integers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


BaseUnits = Annotated[
    str, Field(strict=True, pattern=r"^[0-9]{1,78}$"), BeforeValidator(_base_units)
]


class RefundCreate(Params):
    """Body of `POST /v1/refunds`."""

    payment: ObjectId = Field(description="The confirmed payment to refund (its id).")
    amount_crypto: Annotated[str, Field(strict=True, max_length=100)] | None = Field(
        default=None,
        description='Exact decimal string in the payment\'s token, e.g. "0.0125". '
        "Or amount_base_units; default: all that is left to refund.",
    )
    amount_base_units: BaseUnits | None = Field(
        default=None,
        description="Integer base units (a string, or a JSON integer). Or amount_crypto.",
    )
    reason: Annotated[str, Field(strict=True, max_length=500)] | None = Field(
        default=None, description="Why; shown to the shopper on the claim page."
    )
    metadata: Metadata = Field(default_factory=dict)


class RefundListParams(ListParams):
    """Query of `GET /v1/refunds`."""

    payment: ObjectId | None = Field(default=None, description="Only this payment's refunds.")
    status: RefundStatus | None = None


class RefundObject(BaseModel):
    id: str
    object: Literal["refund"]
    livemode: bool
    status: RefundStatus
    payment: str
    amount_crypto: str = Field(description="Exact decimal string of the refund amount.")
    amount_base_units: str = Field(description="Integer base units, as a string (> 2^53).")
    crypto_currency: str
    decimals: int
    network: str
    token_address: str | None
    reason: str | None
    metadata: dict[str, str]
    claim_url: str = Field(description="The shopper's link to give the refund address.")
    address: str | None = Field(description="Where the refund goes, once the shopper gave it.")
    from_address: str = Field(description="The merchant's payout address that must send it.")
    tx_hash: str | None = Field(
        description="The merchant's transfer, once seen on chain (final once succeeded)."
    )
    block_number: int | None
    created_at: IsoTime
    updated_at: IsoTime


class RefundList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[RefundObject]
