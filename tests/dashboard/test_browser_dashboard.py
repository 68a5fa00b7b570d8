"""Acceptance in Chromium against `kassa dev --json`: sign in, find a session by its
`client_reference_id` through the search, open it, see its payment and webhook delivery,
press "Resend" and see the receiver get the event a second time. Role and label selectors
only. Screenshots of the overview, lists and detail pages at desktop and 360 px widths."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.checkout.browser import (
    CHROMIUM,
    DESKTOP,
    MOBILE,
    DevServer,
    MerchantSite,
    merchant_site,
)
from tests.dashboard.browser import shot, sign_in_as_owner

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def shop(dev: DevServer) -> Iterator[MerchantSite]:
    """The merchant's webhook receiver on loopback, subscribed to every event via the API."""
    with merchant_site(dev) as site:
        yield site


def rpc(dev: DevServer, method: str, params: list[Any]) -> Any:
    body = httpx.post(
        dev.info["rpc_url"],
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        timeout=30,
    ).json()
    assert "result" in body, body
    return body["result"]


def pay_on_devnet(dev: DevServer, payment: dict[str, Any]) -> str:
    """Send the payment's own wallet request from an unlocked anvil account."""
    payer = rpc(dev, "eth_accounts", [])[6]
    return str(
        rpc(
            dev,
            "eth_sendTransaction",
            [
                {
                    "from": payer,
                    "to": payment["to_contract"],
                    "data": payment["data"],
                    "value": hex(int(payment["value"])),
                }
            ],
        )
    )


def deliveries_of(shop: MerchantSite, event_type: str, object_id: str) -> list[str]:
    """The webhook-id of every request the receiver got for that event of that object."""
    return [
        hook["_headers"]["webhook-id"]
        for hook in list(shop.webhooks)
        if hook.get("type") == event_type
        and hook.get("data", {}).get("object", {}).get("id") == object_id
    ]


def wait_until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_find_a_session_see_its_delivery_and_resend_it(
    dev: DevServer, shop: MerchantSite, browser: Any
) -> None:
    reference = f"order-{time.time_ns()}"
    session = dev.create_session(shop, client_reference_id=reference)
    payment = dev.api(
        "POST",
        f"/checkout/sessions/{session['id']}/payments",
        json={"network": "devnet", "crypto_currency": "ETH"},
    )["payment"]
    tx_hash = pay_on_devnet(dev, payment)
    shop.wait_for_event(session["id"], "checkout.session.completed", timeout=60)
    first = deliveries_of(shop, "checkout.session.completed", session["id"])
    assert len(first) == 1

    context = await browser.new_context(viewport=DESKTOP)
    console: list[str] = []
    try:
        page = await context.new_page()
        page.on("console", lambda message: console.append(message.text))
        await sign_in_as_owner(page, dev)
        await shot(page, "dashboard-overview-desktop")

        await (
            page.get_by_role("navigation", name="Dashboard")
            .get_by_role("link", name="Sessions")
            .click()
        )
        await page.get_by_label("Search").fill(reference)
        await page.get_by_role("button", name="Apply").click()
        results = page.get_by_role("table")
        await expect(results.get_by_role("row")).to_have_count(2)  # the header and one session
        await expect(results).to_contain_text(reference)
        await shot(page, "dashboard-sessions-desktop")
        await results.get_by_role("link", name=session["id"]).click()

        await expect(
            page.get_by_role("heading", name=f"Checkout session {session['id']}")
        ).to_be_visible()
        payments = page.get_by_role("region", name="Payments")
        await expect(payments.get_by_role("link", name=payment["id"])).to_be_visible()
        await expect(payments).to_contain_text("confirmed")
        chain = page.get_by_role("region", name="Chain transactions")
        await expect(chain).to_contain_text(tx_hash)
        deliveries = page.get_by_role("region", name="Webhook deliveries")
        row = deliveries.get_by_role("row").filter(has_text="checkout.session.completed")
        await expect(row).to_contain_text(f"{shop.origin}/webhooks")
        await expect(row).to_contain_text("204")
        await shot(page, "dashboard-session-desktop")

        await row.get_by_role("button", name="Resend").click()
        await expect(page.get_by_role("status")).to_contain_text("Resend scheduled")
        # The receiver gets the same event (same webhook-id) a second time.
        wait_until(
            lambda: len(deliveries_of(shop, "checkout.session.completed", session["id"])) == 2,
            "the resent webhook",
        )
        assert deliveries_of(shop, "checkout.session.completed", session["id"]) == first * 2
        # And the page's delivery log shows the second attempt's answer.
        await page.reload()
        row = (
            page.get_by_role("region", name="Webhook deliveries")
            .get_by_role("row")
            .filter(has_text="checkout.session.completed")
        )
        await expect(row).to_contain_text("204, 204")

        await payments.get_by_role("link", name=payment["id"]).click()
        await expect(page.get_by_role("heading", name=f"Payment {payment['id']}")).to_be_visible()
        await shot(page, "dashboard-payment-desktop")
        await (
            page.get_by_role("navigation", name="Dashboard")
            .get_by_role("link", name="Payments")
            .click()
        )
        await expect(page.get_by_role("heading", name="Payments")).to_be_visible()
        await shot(page, "dashboard-payments-desktop")
        assert [text for text in console if "Content Security Policy" in text] == []
    finally:
        await context.close()


async def test_pages_fit_a_360_px_screen(dev: DevServer, shop: MerchantSite, browser: Any) -> None:
    session = dev.create_session(shop, client_reference_id=f"narrow-{time.time_ns()}")
    payment = dev.api(
        "POST",
        f"/checkout/sessions/{session['id']}/payments",
        json={"network": "devnet", "crypto_currency": "USDC"},
    )["payment"]
    context = await browser.new_context(viewport=MOBILE)
    try:
        page = await context.new_page()
        await sign_in_as_owner(page, dev)
        for path, name in (
            ("/dashboard/", "overview"),
            ("/dashboard/sessions", "sessions"),
            (f"/dashboard/sessions/{session['id']}", "session"),
            ("/dashboard/payments", "payments"),
            (f"/dashboard/payments/{payment['id']}", "payment"),
        ):
            await page.goto(dev.origin + path)
            await shot(page, f"dashboard-{name}-360")
            # The page itself does not scroll sideways (wide tables scroll inside their card).
            assert await page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            ), path
    finally:
        await context.close()


async def test_search_and_pages_work_without_javascript(
    dev: DevServer, shop: MerchantSite, browser: Any
) -> None:
    reference = f"nojs-{time.time_ns()}"
    session = dev.create_session(shop, client_reference_id=reference)
    context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in_as_owner(page, dev)
        await page.goto(dev.origin + "/dashboard/sessions")
        await page.get_by_label("Search").fill(reference)
        await page.get_by_role("button", name="Apply").click()
        await page.wait_for_url(f"**/dashboard/sessions?*query={reference}*")
        results = page.get_by_role("table")
        await expect(results.get_by_role("row")).to_have_count(2)
        await results.get_by_role("link", name=session["id"]).click()
        await expect(
            page.get_by_role("heading", name=f"Checkout session {session['id']}")
        ).to_be_visible()
    finally:
        await context.close()
