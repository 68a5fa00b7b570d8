"""Streamed CSV answers (`app.exports`), for the API and the dashboard alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Response, request

CSV_TYPE = "text/csv"


def wants_csv() -> bool:
    """Whether the request's Accept header prefers CSV to JSON (`Accept: text/csv`); a
    missing header or `*/*` is JSON, as always."""
    best = request.accept_mimetypes.best_match(["application/json", CSV_TYPE])
    return best == CSV_TYPE


def csv_response(chunks: AsyncIterator[str], filename: str) -> Response:
    """The chunks streamed as a CSV attachment named `filename`, encoded as they are sent."""

    async def encoded() -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield chunk.encode("utf-8")

    response = Response(
        encoded(),
        content_type=f"{CSV_TYPE}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # An export is a snapshot of private data: not for shared caches or the back button.
            "Cache-Control": "no-store",
        },
    )
    # The app's 30 s response timeout is for answers of one page; an export's length grows
    # with the merchant's history, and the client reading it is the merchant's own.
    response.timeout = None
    return response
