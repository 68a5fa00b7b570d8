"""Stripe-style cursor pagination: newest first, stable for equal timestamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app.api.errors import invalid_request
from app.api.schemas import CreatedRange, ListParams
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


async def paginate(
    query: QuerySet[M],
    params: ListParams,
    url: str,
    render: Callable[[M], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `query` (already scoped to the caller) as a Stripe list object."""
    if params.starting_after and params.ending_before:
        raise invalid_request(
            "parameters_exclusive",
            "starting_after and ending_before cannot be used together.",
            "ending_before",
        )
    scoped = query
    query = filter_created(query, params.created)
    cursor_id = params.starting_after or params.ending_before
    backwards = params.ending_before is not None
    if cursor_id:
        cursor = await scoped.filter(pk=cursor_id).first()
        if cursor is None:
            param = "ending_before" if backwards else "starting_after"
            raise invalid_request("resource_missing", f"No such object: '{cursor_id}'", param)
        at = cursor.created_at  # type: ignore[attr-defined]
        if backwards:
            query = query.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=cursor_id))
        else:
            query = query.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=cursor_id))
    order = ("created_at", "id") if backwards else ("-created_at", "-id")
    rows = await query.order_by(*order).limit(params.limit + 1)
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if backwards:
        rows.reverse()
    return {"object": "list", "url": url, "has_more": has_more, "data": [render(r) for r in rows]}
