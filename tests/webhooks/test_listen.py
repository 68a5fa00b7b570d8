"""`kassa listen`: new test events are forwarded, signed, one printed line each."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from quart import Quart
from standardwebhooks.webhooks import Webhook

from app.cli import build_parser
from app.webhooks.listen import ListenError, forward_events
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import emit_events


async def test_forwards_new_events_signed(app: Quart, merchant: MerchantKeys, receivers) -> None:
    before = await emit_events(merchant.merchant.id, 2)  # already there: not forwarded
    receiver = await receivers()
    lines: list[str] = []
    ready = asyncio.Event()

    def emit(line: str) -> None:
        lines.append(line)
        ready.set()

    stop = asyncio.Event()
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kassa.test"
    ) as api:
        task = asyncio.create_task(
            forward_events(
                api,
                merchant.test_secret,
                receiver.url("/webhooks"),
                secret=secret,
                poll_interval=0.05,
                emit=emit,
                stop=stop,
            )
        )
        await asyncio.wait_for(ready.wait(), 5)
        new = await emit_events(merchant.merchant.id, 3)
        await receiver.wait_for(3, within=5)
        stop.set()
        await asyncio.wait_for(task, 5)
    assert secret in lines[0]
    assert receiver.ids() == [e.id for e in new]
    assert not set(receiver.ids()) & {e.id for e in before}
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    assert len(lines) == 1 + 3
    assert all("checkout.session.expired" in line and "[200]" in line for line in lines[1:])


async def test_refuses_live_keys(app: Quart, merchant: MerchantKeys) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kassa.test"
    ) as api:
        with pytest.raises(ListenError, match="test-mode"):
            await forward_events(api, merchant.live_secret, "http://127.0.0.1:9/")
        with pytest.raises(ListenError, match="401"):
            await forward_events(api, "sk_test_nope", "http://127.0.0.1:9/")


def test_cli_arguments() -> None:
    args = build_parser().parse_args(
        ["listen", "--forward-to", "http://localhost:4242/webhooks", "--api-key", "sk_test_x"]
    )
    assert args.forward_to == "http://localhost:4242/webhooks"
    assert args.api_key == "sk_test_x" and args.api_base is None
