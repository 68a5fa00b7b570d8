"""`Idempotency-Key`: the first result of a POST is stored and replayed for repeats.

Scoped per API key. Same key + same parameters replays the stored status and body byte for
byte; different parameters -> 400 idempotency_error; a twin still running is waited for a
short while, then 409. Requests that fail validation (400 invalid_request_error) or fail on
our side (5xx) store nothing, so the caller can fix them or retry with the same key.

The reservation, the handler's writes and the stored answer commit in one transaction, so a
request cut off in between (its process killed, the database restarted) leaves nothing
behind and its retry runs afresh (tests/chaos).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from quart import Response, current_app, request
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.api.auth import current_caller
from app.api.bodies import body_params
from app.api.errors import ApiError, error_response, internal_error
from app.models import IdempotencyRecord
from app.plugins import held_until_commit
from app.secretbox import SecretBox

MAX_KEY_LENGTH = 255
_POLL_SECONDS = 0.05


def _fingerprint(params: dict[str, Any]) -> str:
    canonical = json.dumps(
        [request.method, request.path, params], sort_keys=True, default=str, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _seal_context(record: IdempotencyRecord) -> str:
    return f"idempotency_records:{record.id}"


def _replay(record: IdempotencyRecord) -> Response:
    body = record.response_body or ""
    if record.sealed:
        body = _secret_box().open(body, _seal_context(record))
    return Response(
        body,
        status=record.response_status or 500,
        content_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def _key_from_header() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400,
            "idempotency_error",
            "idempotency_key_invalid",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            "Idempotency-Key",
        )
    return key


def _secret_box() -> SecretBox:
    return SecretBox(current_app.config["KASSA_SETTINGS"].secret_key.get_secret_value())


async def run_idempotent(
    handler: Callable[[], Awaitable[Response]], *, sealed: bool = False
) -> Response:
    """Run `handler` at most once per (API key, Idempotency-Key).

    `sealed=True` for responses that carry a secret (a webhook signing secret): the stored
    copy is encrypted with the operator's secret key, so no secret rests in plain text.
    """
    key = _key_from_header()
    if key is None:
        return await handler()
    caller = current_caller()
    fingerprint = _fingerprint(await body_params())
    settings = current_app.config["KASSA_SETTINGS"]
    deadline = asyncio.get_running_loop().time() + settings.idempotency_wait_seconds
    retention = dt.timedelta(hours=settings.idempotency_retention_hours)

    while True:
        now = dt.datetime.now(dt.UTC)
        try:
            return await _run_once(handler, caller.api_key.id, key, fingerprint, now, sealed)
        except IntegrityError:
            # Another request holds this key. On PostgreSQL our insert waited for its
            # transaction to end, so a finished twin is there to replay.
            existing = await IdempotencyRecord.get_or_none(api_key_id=caller.api_key.id, key=key)
            if existing is None:
                continue  # the twin stored nothing (validation failure, 5xx): our turn
            if existing.created_at < now - retention:
                await IdempotencyRecord.filter(id=existing.id).delete()
                continue
            if existing.request_fingerprint != fingerprint:
                raise ApiError(
                    400,
                    "idempotency_error",
                    "idempotency_key_reused",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                    "Idempotency-Key",
                ) from None
            if existing.state == "done":
                return _replay(existing)
            if asyncio.get_running_loop().time() >= deadline:
                raise ApiError(
                    409,
                    "idempotency_error",
                    "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still being processed; retry later.",
                    "Idempotency-Key",
                ) from None
            await asyncio.sleep(_POLL_SECONDS)


class _StoreNothing(Exception):
    """Rolls back the reservation and whatever the handler wrote; carries its answer."""

    def __init__(self, response: Response) -> None:
        self.response = response


async def _run_once(
    handler: Callable[[], Awaitable[Response]],
    api_key_id: str,
    key: str,
    fingerprint: str,
    now: dt.datetime,
    sealed: bool,
) -> Response:
    """Reserve the key, run the handler and store its answer in one transaction.

    The handler's own transactions nest in this one (savepoints), so its writes commit
    exactly when its answer is stored: a process killed, or a database restarted, in between
    leaves neither - the client's retry runs afresh - never an effect without its answer,
    which a retry would repeat, nor a reservation nobody finishes, which would answer 409
    to every retry until the record expires. IntegrityError: the key is taken.
    """
    try:
        async with held_until_commit(), in_transaction():
            record = await IdempotencyRecord.create(
                api_key_id=api_key_id,
                key=key,
                request_fingerprint=fingerprint,
                state="in_progress",
                created_at=now,
            )
            try:
                response = await handler()
            except ApiError as error:
                response = error_response(error)
            except Exception:
                current_app.logger.exception("request failed under Idempotency-Key")
                response = error_response(internal_error())
            body = await response.get_data(as_text=True)
            caller_can_fix = response.status_code == 400 and '"invalid_request_error"' in body
            # A 5xx is our failure, perhaps a passing one: replaying it for the retention
            # period would turn it into a permanent answer for this key, so the next request
            # runs again.
            if caller_can_fix or response.status_code >= 500:
                raise _StoreNothing(response)
            stored = _secret_box().seal(body, _seal_context(record)) if sealed else body
            await IdempotencyRecord.filter(id=record.id).update(
                state="done",
                response_status=response.status_code,
                response_body=stored,
                sealed=sealed,
            )
            return response
    except _StoreNothing as nothing:
        return nothing.response


async def prune_idempotency_records(retention_hours: int) -> int:
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=retention_hours)
    return await IdempotencyRecord.filter(created_at__lt=cutoff).delete()
