"""Acceptance in Chromium against `kassa dev`: an owner creates an API key (secret shown once,
it works against the API) and revokes it (the API then refuses it); a viewer cannot change
payout addresses (no form, and a forged POST is a 403)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.keys import KEY_CACHE_SECONDS
from tests.checkout.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, DevServer, start_kassa_dev
from tests.dashboard.browser import PASSWORD, create_dev_user, sign_in

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = start_kassa_dev(tmp_path_factory.mktemp("kassa-dev"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    await context.close()
    assert violations == []


def _origin(dev: DevServer) -> str:
    return str(dev.info["dashboard_url"]).removesuffix("/dashboard/")


async def _api_status(dev: DevServer, secret: str) -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(
            f"{dev.info['api_base']}/checkout/sessions",
            headers={"Authorization": f"Bearer {secret}"},
        )
        return response.status_code


async def test_create_and_revoke_an_api_key(dev: DevServer, page: Any) -> None:
    await sign_in(page, _origin(dev), dev.info["dashboard_email"], dev.info["dashboard_password"])
    await page.wait_for_url(f"{_origin(dev)}/dashboard/")  # signed in
    await page.goto(f"{_origin(dev)}/dashboard/keys")
    await expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    await page.get_by_role("button", name="Create test key").click()
    await expect(page.get_by_text("Secret key — shown once.")).to_be_visible()
    secret = (await page.locator(".secret code").inner_text()).strip()
    assert secret.startswith("sk_test_")
    assert await _api_status(dev, secret) == 200

    # Reloading the list never shows the secret again.
    await page.get_by_role("link", name="API keys").click()
    assert secret not in await page.content()
    display = f"sk_test_…{secret[-4:]}"
    await page.get_by_role("button", name=f"Revoke {display}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Revoked {display}")
    await expect(page.get_by_role("button", name=f"Revoke {display}")).to_have_count(0)

    # The server's other processes may hold the key for KEY_CACHE_SECONDS.
    deadline = time.monotonic() + KEY_CACHE_SECONDS + 5
    status = await _api_status(dev, secret)
    while status != 401 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        status = await _api_status(dev, secret)
    assert status == 401


async def test_a_viewer_cannot_change_payout_addresses(dev: DevServer, page: Any) -> None:
    create_dev_user(dev, "viewer-payouts@shop.example", "viewer")
    await sign_in(page, _origin(dev), "viewer-payouts@shop.example", PASSWORD)
    await page.wait_for_url(f"{_origin(dev)}/dashboard/")  # signed in
    await page.goto(f"{_origin(dev)}/dashboard/payouts")
    await expect(page.get_by_role("heading", name="Payout addresses")).to_be_visible()
    await expect(page.get_by_role("heading", name="devnet")).to_be_visible()
    await expect(page.get_by_text("Only owners change payout addresses")).to_be_visible()
    await expect(page.get_by_label("Your password")).to_have_count(0)
    await expect(page.get_by_role("button", name="Save devnet address")).to_have_count(0)

    # The form's POST, forged with this session's valid CSRF token, is refused too.
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = await page.request.post(
        f"{_origin(dev)}/dashboard/payouts",
        form={
            "csrf_token": token,
            "network": "devnet",
            "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "password": PASSWORD,
        },
    )
    assert response.status == 403
    await page.reload()
    assert "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" not in await page.content()
