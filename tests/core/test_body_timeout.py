"""A request whose body never finishes arriving is answered 408 once BODY_TIMEOUT passes.

Kassa keeps Quart's body timeout with `asyncio.timeout` (app.KassaRequest) instead of
Quart's per-request task; this checks the timeout still holds, for API JSON and for forms.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from quart import Quart
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestTimeout

from app import KassaRequest
from tests.asgi import post_scope
from tests.conftest import MerchantKeys


async def _answer_to_a_stalled_body(app: Quart, scope: dict[str, Any]) -> tuple[int, bytes]:
    """Send the first part of a body and then nothing more (the client stays connected)."""
    first = [{"type": "http.request", "body": b'{"amount_fiat": ', "more_body": True}]
    stay = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if first:
            return first.pop()
        await stay.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=10)  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


async def test_an_api_body_that_never_ends_is_refused_in_time(
    app: Quart, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "BODY_TIMEOUT", 0.3)
    scope = post_scope(
        "/v1/checkout/sessions",
        [
            (b"authorization", merchant.auth()["Authorization"].encode()),
            (b"content-type", b"application/json"),
        ],
    )
    status, body = await _answer_to_a_stalled_body(app, scope)
    assert status == 408
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


async def test_a_form_body_that_never_ends_is_refused_in_time() -> None:
    request = KassaRequest(
        "POST",
        "http",
        "/dashboard/sign-in",
        b"",
        Headers({"Content-Type": "application/x-www-form-urlencoded"}),
        "",
        "1.1",
        max_content_length=None,
        body_timeout=0.3,
        send_push_promise=_no_push,
        scope=post_scope("/dashboard/sign-in", []),  # type: ignore[arg-type]
    )
    request.body.append(b"email=a%40b.example&pass")  # and nothing more
    with pytest.raises(RequestTimeout):
        await asyncio.wait_for(request.form, timeout=10)


async def _no_push(path: str, headers: Headers) -> None:
    raise AssertionError("no push")
