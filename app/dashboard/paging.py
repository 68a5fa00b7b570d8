"""Pages of a dashboard list: the API's cursor pagination (`app.api.pagination.paginate`),
newest first, with Next/Previous links that keep the list's filters.

The cursor is the request's `starting_after` or `ending_before` (an object id). A cursor that
names nothing in the list (another merchant's, the other mode's, a deleted or impossible id)
starts again from the newest with a message, never an error page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from quart import request
from tortoise.exceptions import ValidationError as FieldValueRefused
from tortoise.queryset import QuerySet

from app.api.errors import ApiError
from app.api.pagination import paginate
from app.api.schemas import CursorParams


async def page_of(
    query: QuerySet[Any], path: str, filter_params: dict[str, str], page_size: int
) -> tuple[list[Any], dict[str, str], str]:
    """One page of `query` (already scoped to the merchant and mode) by the request's
    cursor: its rows, the Next/Previous links, and a message for a cursor that is gone."""
    after = request.args.get("starting_after") or None
    before = request.args.get("ending_before") or None
    links: dict[str, str] = {}
    try:
        params = CursorParams(limit=page_size, starting_after=after, ending_before=before)
        page = await paginate(query, params, path, lambda row: {"row": row})
    except (ValidationError, ApiError, FieldValueRefused):
        page = await paginate(query, CursorParams(limit=page_size), path, lambda r: {"row": r})
        after = before = None
        error = "That page is no longer there; showing the newest instead."
    else:
        error = ""
    rows = [item["row"] for item in page["data"]]
    if rows:
        more_after = page["has_more"] if before is None else True
        more_before = page["has_more"] if before is not None else after is not None
        if more_after:
            links["next"] = f"{path}?" + urlencode({**filter_params, "starting_after": rows[-1].id})
        if more_before:
            links["previous"] = f"{path}?" + urlencode(
                {**filter_params, "ending_before": rows[0].id}
            )
    return rows, links, error
