"""Acceptance in Chromium against `kassa dev`: an owner creates an API key (secret shown once,
it works against the API) and revokes it (the API then refuses it); a viewer cannot change
payout addresses (no form, and a forged POST is a 403)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from app.keys import KEY_CACHE_SECONDS
from tests.checkout.browser import (
    DESKTOP,
    MOBILE,
    DevServer,
)
from tests.dashboard.browser import PASSWORD, create_dev_user, shot, sign_in

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


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
    await expect(page.get_by_role("status")).to_contain_text("Revoked")
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


SETTINGS_PAGES = ("webhooks", "keys", "payouts", "networks", "audit")


async def test_webhook_endpoint_and_settings_pages(dev: DevServer, browser: Any) -> None:
    """An owner adds an endpoint (secret once) and sends it a test event; every settings page
    at desktop width and on a 360 px screen (screenshots for docs/dashboard.md)."""
    origin = _origin(dev)
    console: list[str] = []
    for viewport, suffix in ((DESKTOP, "desktop"), (MOBILE, "360")):
        context = await browser.new_context(viewport=viewport)
        try:
            page = await context.new_page()
            page.on("console", lambda m: console.append(m.text))
            await sign_in(page, origin, dev.info["dashboard_email"], dev.info["dashboard_password"])
            await page.wait_for_url(f"{origin}/dashboard/")
            if suffix == "desktop":
                await page.goto(f"{origin}/dashboard/webhooks")
                await page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/kassa/hooks")
                await page.get_by_label("Description (optional)").fill("Order system")
                await expect(page.get_by_label("All events (*)")).to_be_checked()
                await page.get_by_role("button", name="Add endpoint").click()
                await expect(page.get_by_text("Signing secret — shown once.")).to_be_visible()
                assert (await page.locator(".secret code").inner_text()).startswith("whsec_")
                await shot(page, "dashboard-webhooks-desktop")
                await page.get_by_role("link", name="http://127.0.0.1:9/kassa/hooks").first.click()
                await page.get_by_role("button", name="Send test event").click()
                await expect(page.get_by_role("status")).to_contain_text(
                    "A test event is on its way"
                )
                # The delivery log shows the attempt once a worker tried (the port is closed).
                for _ in range(50):
                    await page.reload()
                    if await page.get_by_text("#1 ·").count():
                        break
                    await asyncio.sleep(0.2)
                await shot(page, "dashboard-webhook-desktop")
                await page.set_viewport_size(MOBILE)
                await shot(page, "dashboard-webhook-360")
                await page.set_viewport_size(DESKTOP)
            for name in SETTINGS_PAGES:
                await page.goto(f"{origin}/dashboard/{name}")
                await expect(page.get_by_role("heading", level=1)).to_be_visible()
                await shot(page, f"dashboard-{name}-{suffix}")
                # The page itself does not scroll sideways (wide tables scroll in their card).
                assert await page.evaluate(
                    "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
                ), (name, suffix)
            assert [text for text in console if "Content Security Policy" in text] == []
        finally:
            await context.close()
