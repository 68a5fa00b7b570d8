"""`kassa listen`: forward a test key's events, signed, to a developer's local URL."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from typing import Any

import httpx

from app.http import outbound_client
from app.webhooks.signing import USER_AGENT, new_signing_secret, signature_headers


class ListenError(Exception):
    """`kassa listen` cannot go on; the message says why."""


async def _events_page(
    api: httpx.AsyncClient, api_key: str, params: dict[str, Any]
) -> dict[str, Any]:
    response = await api.get(
        "/v1/events", params=params, headers={"Authorization": f"Bearer {api_key}"}
    )
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise ListenError(f"GET /v1/events answered {response.status_code}: {message}")
    page: dict[str, Any] = response.json()
    return page


async def forward_events(
    api: httpx.AsyncClient,
    api_key: str,
    forward_to: str,
    *,
    secret: str | None = None,
    poll_interval: float = 1.0,
    emit: Any = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Poll the events of a test key and POST each new one, signed, to `forward_to`.

    Like `stripe listen`: a developer's local handler gets the same signed requests a real
    endpoint would, without exposing the laptop to the internet. The forward target is the
    developer's own URL (usually localhost), so it deliberately skips the SSRF guard.
    """
    if not api_key.startswith("sk_test_"):
        raise ListenError("kassa listen forwards test-mode events only: use an sk_test_ key.")
    secret = secret or new_signing_secret()
    stop = stop or asyncio.Event()
    first = await _events_page(api, api_key, {"limit": 1})
    cursor: str | None = first["data"][0]["id"] if first["data"] else None
    started = int(time.time())
    emit(
        f"Ready! Forwarding test events to {forward_to}\n"
        f"Your webhook signing secret is {secret} (^C to quit)"
    )
    async with outbound_client(
        timeout=15.0, connect_timeout=5.0, follow_redirects=False, user_agent=USER_AGENT
    ) as forward:
        while not stop.is_set():
            params: dict[str, Any] = {"limit": 100}
            if cursor is not None:
                params["ending_before"] = cursor
            else:
                params["created[gte]"] = started
            page = await _events_page(api, api_key, params)
            events = list(reversed(page["data"]))  # oldest first
            for event in events:
                body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
                headers = signature_headers(event["id"], body, [secret])
                try:
                    answer = await forward.post(forward_to, content=body, headers=headers)
                    outcome = str(answer.status_code)
                except httpx.HTTPError as error:
                    outcome = f"failed: {type(error).__name__}"
                emit(
                    f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}  {event['type']:<28} "
                    f"[{event['id']}] -> POST {forward_to} [{outcome}]"
                )
            if events:
                cursor = events[-1]["id"]
            if not page.get("has_more"):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_interval)
