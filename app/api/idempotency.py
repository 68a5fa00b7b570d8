"""`Idempotency-Key`: the first result of a POST is stored and replayed for repeats.

Scoped per API key. Same key + same parameters replays the stored status and body byte for
byte; different parameters -> 400 idempotency_error; a twin still running is waited for a
short while, then 409. Requests that fail validation (400 invalid_request_error) or fail on
our side (5xx) store nothing, so the caller can fix them or retry with the same key.

The reservation, the handler's writes and the stored answer commit in one transaction, so a
request cut off in between (its process killed, the database restarted) leaves nothing
behind and its retry runs afresh (tests/chaos). Session creation, whose only writes are new
rows, stores them, its answer and its rate-limit token in one statement instead
(`run_idempotent_rows`): Stripe's libraries send an Idempotency-Key with every POST.
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
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app.api.auth import check_rate_limit, current_caller, rate_limited
from app.api.bodies import body_params
from app.api.errors import ApiError, error_response, internal_error
from app.config import Settings
from app.inserts import insert_with_token, new_row
from app.models import IdempotencyRecord
from app.plugins import held_until_commit
from app.ratelimit import Limit
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


def idempotency_key() -> str | None:
    """The request's Idempotency-Key, checked, or None."""
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
    key = idempotency_key()
    if key is None:
        return await handler()
    caller = current_caller()
    fingerprint = _fingerprint(await body_params())
    deadline = asyncio.get_running_loop().time() + _settings().idempotency_wait_seconds

    while True:
        now = dt.datetime.now(dt.UTC)
        try:
            return await _run_once(handler, caller.api_key.id, key, fingerprint, now, sealed)
        except IntegrityError:
            # Another request holds this key. On PostgreSQL our insert waited for its
            # transaction to end, so a finished twin is there to replay.
            answer = await _answer_for_taken_key(key, fingerprint, now, deadline)
            if answer is not None:
                return answer


async def run_idempotent_rows(
    key: str,
    build: Callable[[], Awaitable[tuple[list[Model], Response]]],
    bucket: str,
    limit: Limit,
) -> Response:
    """`run_idempotent` for a handler whose only writes are new rows, built without writing
    (`build`: the rows and the answer), under the request's `key` (`idempotency_key()`).
    The rows, the stored answer and the request's rate-limit token (`bucket`) go to the
    database in one statement (`insert_with_token`), where the reservation, the handler's
    writes and the answer took six: this is session creation with the Idempotency-Key that
    Stripe's libraries send with every POST.

    Same rules, same one transaction: no record is ever "in_progress" here; a twin's
    statement conflicts on the record's unique key when the first one commits and writes
    nothing (its token neither), and the twin replays the first answer as above."""
    caller = current_caller()
    fingerprint = _fingerprint(await body_params())
    deadline = asyncio.get_running_loop().time() + _settings().idempotency_wait_seconds
    while True:
        now = dt.datetime.now(dt.UTC)
        try:
            rows, response = await build()
        except ApiError as error:
            response = error_response(error)
            if _caller_can_fix(response.status_code, await response.get_data(as_text=True)):
                # Stores nothing, as above; but a key used before has its answer.
                await check_rate_limit(caller.api_key)
                answer = await _answer_for_taken_key(key, fingerprint, now, deadline)
                return answer or response
            rows = []  # the refusal is the answer, stored like any other
        except Exception:
            await check_rate_limit(caller.api_key)  # our failure: stored nothing, as above
            raise
        record = new_row(
            IdempotencyRecord,
            api_key_id=caller.api_key.id,
            key=key,
            request_fingerprint=fingerprint,
            state="done",
            response_status=response.status_code,
            response_body=await response.get_data(as_text=True),
            sealed=False,
            created_at=now,
        )
        try:
            wait = await insert_with_token([*rows, record], bucket, limit)
        except IntegrityError:
            if not await IdempotencyRecord.exists(api_key_id=caller.api_key.id, key=key):
                raise  # not the key: a constraint of the rows themselves
            await check_rate_limit(caller.api_key)  # a replayed answer costs a token too
            answer = await _answer_for_taken_key(key, fingerprint, now, deadline)
            if answer is not None:
                return answer
            continue
        if wait:
            raise rate_limited(wait)
        return response


async def _answer_for_taken_key(
    key: str, fingerprint: str, now: dt.datetime, deadline: float
) -> Response | None:
    """The answer to a request whose Idempotency-Key is taken: the stored answer, or an
    ApiError (other parameters; still in flight past `deadline`). None: the key is free
    (no record, or an expired one, now deleted), or still in flight after a short wait:
    try again."""
    api_key_id = current_caller().api_key.id
    existing = await IdempotencyRecord.get_or_none(api_key_id=api_key_id, key=key)
    if existing is None:
        return None
    retention = dt.timedelta(hours=_settings().idempotency_retention_hours)
    if existing.created_at < now - retention:
        await IdempotencyRecord.filter(id=existing.id).delete()
        return None
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
    return None


def _caller_can_fix(status: int, body: str) -> bool:
    """A request that failed validation: stored nothing, so it can be fixed under its key."""
    return status == 400 and '"invalid_request_error"' in body


def _settings() -> Settings:
    settings: Settings = current_app.config["KASSA_SETTINGS"]
    return settings


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
            caller_can_fix = _caller_can_fix(response.status_code, body)
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
