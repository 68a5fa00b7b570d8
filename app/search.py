"""The filters and search the dashboard's lists, the CSV exports and the API share.

One definition of what "payments on one network in one token last week matching 'order-42'" means:
`PaymentFilters` / `SessionFilters` are parsed from a query string (`parse`) and applied to a
Tortoise queryset for exactly one merchant and one mode (`apply`, both arguments required).

Query-string parameters (empty values mean "no filter", as an HTML form sends them; other
parameters are ignored, so a page may add its own such as a cursor):

- `status`: a payment or session status (`app.states`).
- `network`: a network key. Sessions match through their payments (any attempt).
- `token`: the crypto currency symbol, e.g. `USDC` (case-insensitive). Sessions match
  through their payments; with `network` too, one payment must match both.
- `created_from`, `created_to`: ISO 8601 dates (`2026-12-01`, UTC days) or times
  (`2026-12-01T10:00`, UTC unless an offset is given). Both ends are inclusive: a date
  covers its whole day, a time its whole second.
- `query`: free text matched exactly against an object id (`cs_…`, `pay_…`), the session's
  `client_reference_id`, `customer_email` (case-insensitive), any metadata value, and a
  payment's transaction hash (case-insensitive; sessions match through their payments).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import reduce
from typing import Any, Self

from pypika_tortoise import SqlContext
from pypika_tortoise.terms import Term, ValueWrapper
from tortoise.expressions import Expression, Q, ResolveContext, ResolveResult, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app.models import CheckoutSession, Payment
from app.states import PaymentStatus, SessionStatus

# The spellings the API accepts for the same values (app.api.schemas NetworkKey, CryptoSymbol).
_NETWORK_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_TOKEN_SYMBOL = re.compile(r"^[A-Za-z0-9.]{1,16}$")
# Metadata values are at most 500 characters; nothing longer can match anything.
MAX_QUERY_LENGTH = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FilterError(ValueError):
    """A filter value that cannot be understood; `param` names the query parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True, slots=True)
class _Filters:
    """What payments and sessions filter alike; see the module docstring for the meaning."""

    status: str | None = None
    network: str | None = None
    token: str | None = None
    created_from: dt.date | None = None  # a date or a datetime (datetime is a date)
    created_to: dt.date | None = None
    query: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> Self:
        """From a query string's mapping (`request.args`); FilterError names the bad one."""
        values = {name: _text(params, name) for name in _PARAMS}
        status = values["status"]
        if status is not None and status.lower() not in cls._statuses():
            raise FilterError(
                "status", f"Unknown status {status!r}; one of: {', '.join(cls._statuses())}."
            )
        network = values["network"]
        if network is not None and not _NETWORK_KEY.match(network):
            raise FilterError("network", f"{network!r} is not a network key.")
        token = values["token"]
        if token is not None and not _TOKEN_SYMBOL.match(token):
            raise FilterError("token", f"{token!r} is not a token symbol such as 'USDC'.")
        created_from = _moment(values["created_from"], "created_from")
        created_to = _moment(values["created_to"], "created_to")
        if created_from is not None and created_to is not None:
            upper = _upper_bound(created_to)
            if upper is not None and _lower_bound(created_from) >= upper:
                raise FilterError("created_to", "created_to is before created_from.")
        query = values["query"]
        if query is not None:
            if len(query) > MAX_QUERY_LENGTH:
                raise FilterError(
                    "query", f"The search text is longer than {MAX_QUERY_LENGTH} characters."
                )
            if _CONTROL.search(query):
                raise FilterError("query", "The search text contains control characters.")
        return cls(
            status=None if status is None else status.lower(),
            network=network,
            token=None if token is None else token.upper(),
            created_from=created_from,
            created_to=created_to,
            query=query,
        )

    @classmethod
    def _statuses(cls) -> tuple[str, ...]:
        raise NotImplementedError

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters again (for page links and export links)."""
        params = {}
        for name in _PARAMS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return params

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(getattr(self, f.name) is not None for f in fields(self))

    def _created_filters(self) -> dict[str, dt.datetime]:
        bounds = {}
        if self.created_from is not None:
            bounds["created_at__gte"] = _lower_bound(self.created_from)
        if self.created_to is not None:
            upper = _upper_bound(self.created_to)
            if upper is not None:
                bounds["created_at__lt"] = upper
        return bounds


_PARAMS = ("status", "network", "token", "created_from", "created_to", "query")


@dataclass(frozen=True, slots=True)
class PaymentFilters(_Filters):
    """Filters of a payment list or export."""

    @classmethod
    def _statuses(cls) -> tuple[str, ...]:
        return tuple(PaymentStatus)

    def apply(
        self, query: QuerySet[Payment], *, merchant_id: str, livemode: bool
    ) -> QuerySet[Payment]:
        """`query` narrowed to the merchant's payments in the mode that match the filters."""
        query = query.filter(merchant_id=merchant_id, livemode=livemode, **self._created_filters())
        if self.status is not None:
            query = query.filter(status=self.status)
        if self.network is not None:
            query = query.filter(network=self.network)
        if self.token is not None:
            query = query.filter(crypto_currency=self.token)
        if self.query is not None:
            text = self.query
            sessions = _sessions_described_by(text, merchant_id, livemode)
            query = query.filter(
                _any_of(
                    _equals(Payment, "id", text),
                    _equals(CheckoutSession, "id", text, column="session_id"),
                    Q(tx_hash__iexact=text),
                    Q(session_id__in=Subquery(sessions.values("id"))),
                )
            )
        return query


@dataclass(frozen=True, slots=True)
class SessionFilters(_Filters):
    """Filters of a checkout-session list or export."""

    @classmethod
    def _statuses(cls) -> tuple[str, ...]:
        return tuple(SessionStatus)

    def apply(
        self, query: QuerySet[CheckoutSession], *, merchant_id: str, livemode: bool
    ) -> QuerySet[CheckoutSession]:
        """`query` narrowed to the merchant's sessions in the mode that match the filters."""
        query = query.filter(merchant_id=merchant_id, livemode=livemode, **self._created_filters())
        if self.status is not None:
            query = query.filter(status=self.status)
        if self.network is not None or self.token is not None:
            # One payment on that network in that token (not one on each).
            paid = Payment.filter(merchant_id=merchant_id, livemode=livemode)
            if self.network is not None:
                paid = paid.filter(network=self.network)
            if self.token is not None:
                paid = paid.filter(crypto_currency=self.token)
            query = query.filter(id__in=Subquery(paid.values("session_id")))
        if self.query is not None:
            text = self.query
            by_payment = Payment.filter(merchant_id=merchant_id, livemode=livemode).filter(
                _any_of(_equals(Payment, "id", text), Q(tx_hash__iexact=text))
            )
            described = _sessions_described_by(text, merchant_id, livemode)
            query = query.filter(
                _any_of(
                    _equals(CheckoutSession, "id", text),
                    Q(id__in=Subquery(described.values("id"))),
                    Q(id__in=Subquery(by_payment.values("session_id"))),
                )
            )
        return query


def _sessions_described_by(
    text: str, merchant_id: str, livemode: bool
) -> QuerySet[CheckoutSession]:
    """The merchant's sessions whose reference, e-mail or a metadata value is `text`."""
    return (
        CheckoutSession.filter(merchant_id=merchant_id, livemode=livemode)
        .annotate(_metadata_has_value=MetadataHasValue(text))
        .filter(
            _any_of(
                _equals(CheckoutSession, "client_reference_id", text),
                Q(customer_email__iexact=text),
                Q(_metadata_has_value=True),
            )
        )
    )


def _equals(model: type[Model], field: str, text: str, *, column: str | None = None) -> Q | None:
    """`column = text` (the column holds `model.field`'s values), or None when the text is
    longer than the field: no value can equal it, and Tortoise refuses such a filter value
    (a 66-character EVM tx hash is no 48-character id)."""
    max_length = model._meta.fields_map[field].max_length  # type: ignore[attr-defined]
    if len(text) > max_length:
        return None
    return Q(**{column or field: text})


def _any_of(*conditions: Q | None) -> Q:
    return reduce(operator.or_, [c for c in conditions if c is not None])


class MetadataHasValue(Expression):
    """True when one of the row's `metadata` values (a flat JSON object of strings) equals
    the text exactly, whatever its key. Each database's own JSON functions, the text bound
    as a parameter: SQLite's json_each, PostgreSQL's jsonb_each_text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        column = resolve_context.table.metadata
        return ResolveResult(term=_JsonValueExists(column, ValueWrapper(self.text)))


class _JsonValueExists(Term):
    def __init__(self, column: Term, value: Term) -> None:
        super().__init__()
        self.column = column
        self.value = value

    def get_sql(self, ctx: SqlContext) -> str:
        column = self.column.get_sql(ctx.copy(with_namespace=True, with_alias=False))
        value = self.value.get_sql(ctx.copy(with_alias=False))
        if ctx.dialect.value == "postgresql":
            each = f"jsonb_each_text({column}) AS kv"
        else:
            each = f"json_each({column}) AS kv"
        return f"EXISTS (SELECT 1 FROM {each} WHERE kv.value = {value})"


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FilterError(name, f"{name} must be given once, as text.")
    value = value.strip()
    return value or None


def _moment(text: str | None, param: str) -> dt.date | None:
    """An ISO date, or a time (UTC unless it has an offset; then converted to UTC)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(
            param, f"{text!r} is not a date (2026-12-01) or a time (2026-12-01T10:00)."
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # in UTC it falls before year 1 or after year 9999
        raise FilterError(
            param, f"{text!r} is outside the years 0001 to 9999 once converted to UTC."
        ) from None


def _lower_bound(moment: dt.date) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        return moment
    return dt.datetime.combine(moment, dt.time(), dt.UTC)


def _upper_bound(moment: dt.date) -> dt.datetime | None:
    """The first instant after the bound (None: after year 9999's last day, no bound)."""
    try:
        if isinstance(moment, dt.datetime):
            return moment.replace(microsecond=0) + dt.timedelta(seconds=1)
        return dt.datetime.combine(moment + dt.timedelta(days=1), dt.time(), dt.UTC)
    except OverflowError:
        return None
