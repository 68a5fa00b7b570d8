"""Shared-state abuse of the public checkout: Pay limits (per session first, per client address
behind trusted proxies, across processes), capped status streams sharing one poll, and
previews (cached quotes, per-address limit). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from quart import Quart
from quart.testing.connections import TestHTTPConnection as Connection
from quart.typing import TestClientProtocol as Client

from app.checkout import routes
from app.models import CheckoutSession, Payment
from app.proxies import trusted_networks
from app.quotes import QuoteBook
from tests.checkout.conftest import create_session
from tests.checkout.test_page import HTMX, csrf_of, text
from tests.conftest import LiveServer, MerchantKeys

# A browser cookie of our choosing, so one CSRF token works in-process and on the live server.
COOKIE = "kassa_csrf=" + "c" * 32


def peer(address: str) -> dict[str, Any]:
    """The TCP peer of a test request (the test client has none by default)."""
    return {"client": (address, 40000)}


@pytest.fixture
def behind_proxy(app: Quart, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's proxy is 10.0.0.0/8: its X-Forwarded-For names the shopper."""
    monkeypatch.setitem(app.config, "KASSA_TRUSTED_PROXIES", trusted_networks(["10.0.0.0/8"]))


def settings_of(app: Quart) -> Any:
    return app.config["KASSA_SETTINGS"]


async def pay(client: Client, session_id: str, token: str, **kwargs: Any) -> int:
    response = await client.post(
        f"/checkout/{session_id}/pay",
        form={"option": "devnet:ETH"},
        headers={**HTMX, "X-CSRF-Token": token, **kwargs.pop("headers", {})},
        **kwargs,
    )
    return response.status_code


async def new_sessions(client: Client, merchant: MerchantKeys, count: int) -> list[str]:
    return [(await create_session(client, merchant))["id"] for _ in range(count)]


async def token_for(client: Client, session_id: str) -> str:
    return csrf_of(await text(await client.get(f"/checkout/{session_id}")))


# ----------------------------------------------------------------------------- Pay


async def test_one_session_cannot_spend_the_address_budget(
    client: Client, session: CheckoutSession, payable_merchant: MerchantKeys, fake_payments: None
) -> None:
    """An attacker pressing Pay on one session runs out of that session's tokens only."""
    token = await token_for(client, session.id)
    statuses = [await pay(client, session.id, token) for _ in range(30)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    # Another shopper at the same address (same NAT, same proxy) can still pay.
    (other,) = await new_sessions(client, payable_merchant, 1)
    assert await pay(client, other, await token_for(client, other)) == 200


async def test_address_limit_uses_the_forwarded_client_from_trusted_proxies(
    app: Quart,
    client: Client,
    session: CheckoutSession,
    payable_merchant: MerchantKeys,
    fake_payments: None,
    behind_proxy: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings_of(app), "checkout_payments_per_ip_burst", 2)
    sessions = await new_sessions(client, payable_merchant, 4)
    tokens = {sid: await token_for(client, sid) for sid in sessions}

    async def pay_as(sid: str, proxy: str, forwarded: str) -> int:
        headers = {"X-Forwarded-For": forwarded}
        return await pay(client, sid, tokens[sid], headers=headers, scope_base=peer(proxy))

    assert await pay_as(sessions[0], "10.0.0.1", "203.0.113.7") == 200
    assert await pay_as(sessions[1], "10.0.0.2", "203.0.113.7") == 200
    assert await pay_as(sessions[2], "10.0.0.1", "203.0.113.7") == 429
    # Another shopper through the same proxy has a budget of their own …
    assert await pay_as(sessions[2], "10.0.0.1", "198.51.100.9") == 200
    # … and a client that is not a trusted proxy cannot pick an address to spend.
    assert await pay_as(sessions[3], "192.0.2.50", "198.51.100.10") == 200
    assert await pay_as(sessions[3], "192.0.2.50", "198.51.100.11") == 200
    assert await pay_as(sessions[3], "192.0.2.50", "198.51.100.12") == 429


async def test_pay_limit_holds_across_processes(
    client: Client, session: CheckoutSession, fake_payments: None, live_server: LiveServer
) -> None:
    """A session's budget spent here is spent for another `kassa serve` on the database."""
    page = await client.get(f"/checkout/{session.id}", headers={"Cookie": COOKIE})
    token = csrf_of(await text(page))
    for _ in range(5):
        assert await pay(client, session.id, token, headers={"Cookie": COOKIE}) == 200
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as other_process:
        refused = await other_process.post(
            f"/checkout/{session.id}/pay",
            data={"option": "devnet:ETH"},
            headers={**HTMX, "X-CSRF-Token": token, "Cookie": COOKIE},
        )
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many payment attempts" in refused.text
    assert await Payment.filter(session_id=session.id).count() == 5


# ----------------------------------------------------------------------------- streams


@contextlib.asynccontextmanager
async def open_stream(
    client: Client, session_id: str, address: str = "192.0.2.1"
) -> AsyncIterator[Connection]:
    """An events stream, reading from the first chunk; disconnected on exit."""
    connection: Any = client.request(f"/checkout/{session_id}/events", scope_base=peer(address))
    async with connection:
        await connection.send_complete()
        first = await asyncio.wait_for(connection.receive(), 10)
        if connection.status_code == 200:
            assert first == b"retry: 3000\n\n"
        try:
            yield connection
        finally:
            await connection.disconnect()


async def next_event(connection: Connection) -> str:
    return (await asyncio.wait_for(connection.receive(), 10)).decode()


async def test_streams_are_capped_per_session(client: Client, session: CheckoutSession) -> None:
    async with contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(open_stream(client, session.id, f"192.0.2.{n}"))
            for n in range(5)
        ]
        assert all(stream.status_code == 200 for stream in streams)
        refused = await client.get(f"/checkout/{session.id}/events", scope_base=peer("192.0.2.9"))
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        # A closed stream frees its slot.
        await streams[0].disconnect()
        async with open_stream(client, session.id, "192.0.2.9") as again:
            assert again.status_code == 200


async def test_streams_are_capped_per_client_address(
    app: Quart,
    client: Client,
    session: CheckoutSession,
    payable_merchant: MerchantKeys,
    behind_proxy: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings_of(app), "checkout_streams_per_ip", 3)
    sessions = await new_sessions(client, payable_merchant, 4)
    async with contextlib.AsyncExitStack() as stack:
        for sid in sessions[:3]:
            stream = await stack.enter_async_context(open_stream(client, sid, "192.0.2.20"))
            assert stream.status_code == 200
        refused = await client.get(f"/checkout/{sessions[3]}/events", scope_base=peer("192.0.2.20"))
        assert refused.status_code == 429
        # Shoppers behind the trusted proxy are told apart by their forwarded address.
        forwarded = await stack.enter_async_context(open_stream(client, sessions[3], "10.0.0.1"))
        assert forwarded.status_code == 200


async def test_streams_share_one_status_poll(
    app: Quart,
    client: Client,
    session: CheckoutSession,
    payable_merchant: MerchantKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five streams on one session and one on another: one read of both per round."""
    interval = 0.05
    monkeypatch.setattr(routes, "SSE_POLL_SECONDS", interval)
    monkeypatch.delitem(app.config, "KASSA_STATUS_STREAMS", raising=False)  # a hub with it
    reads: list[list[str]] = []
    read_statuses = routes.read_statuses

    async def counted(app: Quart, session_ids: list[str]) -> Any:
        reads.append(sorted(session_ids))
        return await read_statuses(app, session_ids)

    monkeypatch.setattr(routes, "read_statuses", counted)
    (other,) = await new_sessions(client, payable_merchant, 1)
    async with contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(open_stream(client, session.id, f"192.0.2.{n}"))
            for n in range(5)
        ]
        lone = await stack.enter_async_context(open_stream(client, other, "192.0.2.6"))
        for stream in [*streams, lone]:
            assert "Choose a currency" in await next_event(stream)
        reads.clear()
        started = time.monotonic()
        await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        # One read per round for all six streams (one per stream would be ~60 here).
        assert 1 <= len(reads) <= elapsed / interval + 2
        assert all(ids == sorted([session.id, other]) for ids in reads)
        await CheckoutSession.filter(id=session.id).update(status="canceled")
        for stream in streams:
            assert 'data-final="canceled"' in await next_event(stream)
            assert await next_event(stream) == "event: close\ndata: final\n\n"
        # The other session's stream goes on; the ended session is no longer read.
        reads.clear()
        await asyncio.sleep(0.2)
        assert reads and all(ids == [other] for ids in reads)


# ----------------------------------------------------------------------------- previews


class CountingSource:
    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset({("ETH", "USD")})

    async def price(self, symbol: str, fiat: str) -> Decimal | None:
        self.calls += 1
        await asyncio.sleep(0.01)  # an upstream call takes a while: requests overlap
        return Decimal(2000) if (symbol, fiat) == ("ETH", "USD") else None


async def test_previews_share_one_quote_per_pair(
    app: Quart,
    client: Client,
    session: CheckoutSession,
    registry: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings_of(app), "checkout_previews_per_ip_burst", 1000)
    source = CountingSource()
    registry.quote_book = QuoteBook([source], 60)
    url = f"/checkout/{session.id}/preview?option=devnet:ETH"
    responses = await asyncio.gather(*(client.get(url, headers=HTMX) for _ in range(300)))
    assert {response.status_code for response in responses} == {200}
    bodies = [await text(response) for response in responses]
    assert all("0.00617 ETH" in body for body in bodies)
    assert source.calls == 1


async def test_previews_are_rate_limited_per_client_address(
    app: Quart, client: Client, session: CheckoutSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_of(app), "checkout_previews_per_ip_burst", 2)
    monkeypatch.setattr(settings_of(app), "checkout_previews_per_ip_refill_seconds", 60)
    url = f"/checkout/{session.id}/preview?option=devnet:ETH"
    for _ in range(2):
        ok = await client.get(url, headers=HTMX, scope_base=peer("192.0.2.30"))
        assert ok.status_code == 200 and "0.00617 ETH" in await text(ok)
    limited = await client.get(url, headers=HTMX, scope_base=peer("192.0.2.30"))
    fragment = await text(limited)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "Too many price requests" in fragment and "0.00617" not in fragment
    # Without JavaScript the preview is the page's `?option=`: the page says it, still a 429.
    page = await client.get(
        f"/checkout/{session.id}?option=devnet:ETH", scope_base=peer("192.0.2.30")
    )
    html = await text(page)
    assert page.status_code == 429 and "<html" in html and "Too many price requests" in html
    # Another address is not affected.
    other = await client.get(url, headers=HTMX, scope_base=peer("192.0.2.31"))
    assert other.status_code == 200
