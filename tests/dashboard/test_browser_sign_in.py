"""Signing in to the dashboard in Chromium: backoff after wrong passwords, TOTP sign-in."""

from __future__ import annotations

from typing import Any

import pytest

from app.dashboard import totp
from tests.checkout.browser import (
    DevServer,
)
from tests.dashboard.browser import PASSWORD, create_dev_user, shots, sign_in

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


async def test_five_wrong_passwords_bring_a_backoff(dev: DevServer, page: Any) -> None:
    create_dev_user(dev, "clumsy@shop.example", "viewer")
    origin = dev.info["dashboard_url"].removesuffix("/dashboard/")
    await page.goto(f"{origin}/dashboard/sign-in")
    await shots(page, "dashboard-sign-in")
    for attempt in range(1, 5):
        await sign_in(page, origin, "clumsy@shop.example", f"wrong password {attempt}")
        await expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    await sign_in(page, origin, "clumsy@shop.example", "wrong password 5")
    await expect(page.get_by_role("alert")).to_contain_text("locked for 30 s")
    await shots(page, "dashboard-sign-in-locked")
    # The right password now waits too.
    await sign_in(page, origin, "clumsy@shop.example", PASSWORD)
    await expect(page.get_by_role("alert")).to_contain_text("Too many wrong passwords")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()


async def test_totp_sign_in(dev: DevServer, page: Any) -> None:
    create_dev_user(dev, "careful@shop.example", "developer")
    origin = dev.info["dashboard_url"].removesuffix("/dashboard/")
    await sign_in(page, origin, "careful@shop.example", PASSWORD)
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    await page.get_by_role("link", name="Account").click()
    qr = page.get_by_role("img", name="QR code of the setup key")
    assert await qr.evaluate("image => image.complete && image.naturalWidth > 0")
    await shots(page, "dashboard-account")
    secret = await page.locator("#totp-secret").inner_text()
    await page.get_by_label("Code from the app").fill(totp.code_at(secret, totp.current_step()))
    await page.get_by_role("button", name="Turn on two-factor sign-in").click()
    await expect(page.get_by_text("Recovery codes — shown once.")).to_be_visible()
    await page.get_by_role("button", name="Sign out", exact=True).click()

    await sign_in(page, origin, "careful@shop.example", PASSWORD)
    await expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    await page.get_by_label("Authentication code").fill("123456")
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    await shots(page, "dashboard-sign-in-code")
    # The setup spent this step's code: the next one is what the app shows 30 s later.
    await page.get_by_label("Authentication code").fill(
        totp.code_at(secret, totp.current_step() + 1)
    )
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.get_by_text("careful@shop.example · developer")).to_be_visible()
