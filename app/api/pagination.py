"""Stripe-style cursor pagination: newest first, stable for equal timestamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app.api.errors import invalid_request
from app.api.schemas import CreatedRange, CursorParams, ListParams
from app.objects import MAX_UNIX_TIME

M = TypeVar("M", bound=Model)


def _at(seconds: int) -> dt.datetime:
    # `gt` and `lte` bound at the next second, which after the last second of year 9999 (the
    # largest `created` accepted) is beyond `datetime`; no row is that late, so clamp.
    return dt.datetime.fromtimestamp(min(seconds, MAX_UNIX_TIME), dt.UTC)


def filter_created(query: QuerySet[M], created: CreatedRange | None) -> QuerySet[M]:
    """`created` is in whole seconds (ISO bounds arrive converted to them, see CreatedRange);
    rows carry microseconds, so bounds round outward."""
    if created is None:
        return query
    if created.gt is not None:
        query = query.filter(created_at__gte=_at(created.gt + 1))
    if created.gte is not None:
        query = query.filter(created_at__gte=_at(created.gte))
    if created.lt is not None:
        query = query.filter(created_at__lt=_at(created.lt))
    if created.lte is not None:
        query = query.filter(created_at__lt=_at(created.lte + 1))
    return query


def check_no_page_params(params: CursorParams) -> None:
    """A CSV export streams the whole filtered range: page parameters would be ignored, so
    they are refused (narrow the range with `created` instead)."""
    for name in ("limit", "starting_after", "ending_before"):
        if name in params.model_fields_set:
            raise invalid_request(
                "parameter_unsupported",
                f"{name} does not apply to a CSV export, which streams every matching row; "
                "narrow it with created[gte] and created[lt] instead.",
                name,
            )


async def paginate(
    query: QuerySet[M],
    params: CursorParams,
    url: str,
    render: Callable[[M], dict[str, Any]],
    *,
    order_field: str = "created_at",
    newest_first: bool = True,
) -> dict[str, Any]:
    """One page of `query` (already scoped to the caller) as a Stripe list object.

    Rows are ordered by `order_field` (ids break ties): newest first by default, as Stripe
    lists objects; `newest_first=False` for rows in their own order (a session's line items
    by position). `created` filters apply when the parameters have them.
    """
    if params.starting_after and params.ending_before:
        raise invalid_request(
            "parameters_exclusive",
            "starting_after and ending_before cannot be used together.",
            "ending_before",
        )
    scoped = query
    if isinstance(params, ListParams):
        query = filter_created(query, params.created)
    cursor_id = params.starting_after or params.ending_before
    backwards = params.ending_before is not None
    # Rows after the cursor are those beyond it in the listing's direction ("lt" newest
    # first); a page before it looks the other way.
    beyond = "lt" if newest_first != backwards else "gt"
    if cursor_id:
        # An id longer than the column names nothing (and Tortoise refuses to compare it).
        id_width = getattr(scoped.model._meta.pk, "max_length", None)
        too_long = id_width is not None and len(cursor_id) > id_width
        cursor = None if too_long else await scoped.filter(pk=cursor_id).first()
        if cursor is None:
            param = "ending_before" if backwards else "starting_after"
            raise invalid_request("resource_missing", f"No such object: '{cursor_id}'", param)
        at = getattr(cursor, order_field)
        query = query.filter(
            Q(**{f"{order_field}__{beyond}": at})
            | Q(**{order_field: at, f"id__{beyond}": cursor_id})
        )
    sign = "-" if beyond == "lt" else ""
    rows = await query.order_by(f"{sign}{order_field}", f"{sign}id").limit(params.limit + 1)
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if backwards:
        rows.reverse()
    return {"object": "list", "url": url, "has_more": has_more, "data": [render(r) for r in rows]}
