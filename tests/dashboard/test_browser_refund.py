"""The acceptance test of issue 14's refunds, in Chromium against `kassa dev --json`: a shopper
pays on the devnet with a browser wallet; the merchant signs in to the dashboard and refunds
from the payment's page; the shopper opens the claim link and gives an address; the merchant
pays the refund with the injected test wallet (their payout account); the watcher recognises
the transfer and a real loopback webhook receiver gets `refund.succeeded`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_utils import to_checksum_address
from standardwebhooks import Webhook

from tests.checkout.browser import (
    CHROMIUM,
    DESKTOP,
    MOBILE,
    DevServer,
    MerchantSite,
    add_test_wallet,
    merchant_site,
)
from tests.dashboard.browser import shot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def shop(dev: DevServer) -> Iterator[MerchantSite]:
    with merchant_site(dev, ("refund.*",)) as site:
        yield site


def anvil_accounts(dev: DevServer) -> list[str]:
    body = httpx.post(
        dev.info["rpc_url"], json={"jsonrpc": "2.0", "id": 1, "method": "eth_accounts"}
    ).json()
    return list(body["result"])


def balance(dev: DevServer, account: str) -> int:
    body = httpx.post(
        dev.info["rpc_url"],
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [account, "latest"]},
    ).json()
    return int(body["result"], 16)


class Csp:
    """Content Security Policy refusals a page reported on its console."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on(
            "console",
            lambda m: (
                self.violations.append(m.text) if "Content Security Policy" in m.text else None
            ),
        )
        return page


async def test_full_refund_on_the_devnet(dev: DevServer, shop: MerchantSite, browser: Any) -> None:
    accounts = anvil_accounts(dev)
    payer, refund_to = accounts[5], to_checksum_address(accounts[8])
    payout = str(dev.info["payout_address"])
    origin = dev.origin
    csp = Csp()

    # 1. The shopper pays a checkout in ETH with their browser wallet.
    session = dev.create_session(shop, allowed_crypto_currencies=["ETH"])
    shopper_context = await browser.new_context(viewport=DESKTOP)
    await add_test_wallet(shopper_context, dev.info["rpc_url"], payer)
    shopper = csp.watch(await shopper_context.new_page())
    await shopper.goto(session["checkout_url"])
    await shopper.get_by_label("ETH", exact=False).first.check()
    await shopper.locator("#preview .crypto").wait_for()
    await shopper.get_by_role("button", name="Pay", exact=True).click()
    await shopper.get_by_role("button", name="Pay with browser wallet").click()
    await shopper.get_by_text("Payment confirmed").wait_for(timeout=30_000)
    payment_id = dev.api("GET", f"/checkout/sessions/{session['id']}")["payment_id"]
    payment = dev.api("GET", f"/payments/{payment_id}")
    assert payment["status"] == "confirmed"

    # 2. The merchant (the demo owner) refunds it in full from the payment's page.
    merchant_context = await browser.new_context(viewport=DESKTOP)
    await add_test_wallet(merchant_context, dev.info["rpc_url"], payout)
    merchant = csp.watch(await merchant_context.new_page())
    await sign_in(merchant, origin, dev.info["dashboard_email"], dev.info["dashboard_password"])
    await expect(merchant.get_by_role("heading", name="Overview")).to_be_visible()
    await merchant.goto(f"{origin}/dashboard/payments/{payment_id}")
    await merchant.get_by_label("Reason").fill("Out of stock, sorry")
    await merchant.get_by_role("button", name="Refund", exact=True).click()
    await expect(merchant.get_by_role("status")).to_contain_text("Refund created")
    await expect(merchant.locator("#refund-status")).to_have_text("pending_address")
    claim_link = await merchant.locator("#claim-link").inner_text()
    refund_id = merchant.url.rsplit("/", 1)[1].split("?")[0]
    assert claim_link.startswith(f"{origin}/refund/") and refund_id.startswith("re_")
    await shot(merchant, "dashboard-refund-created-desktop")

    # 3. The shopper opens the claim link: a wrong address first, then theirs.
    claimer_context = await browser.new_context(viewport=MOBILE)
    claimer = csp.watch(await claimer_context.new_page())
    await claimer.goto(claim_link)
    await expect(claimer.get_by_role("heading", name=payment["amount_crypto"])).to_be_visible()
    await shot(claimer, "refund-claim-360")
    await claimer.set_viewport_size(DESKTOP)
    await shot(claimer, "refund-claim-desktop")
    await claimer.set_viewport_size(MOBILE)
    await claimer.get_by_label("Refund address").fill("0x1234")
    await claimer.get_by_role("button", name="Send the refund to this address").click()
    await expect(claimer.get_by_role("alert")).to_contain_text("That is not an address on")
    await claimer.get_by_label("Refund address").fill(refund_to)
    await claimer.get_by_role("button", name="Send the refund to this address").click()
    await expect(claimer.get_by_text("Address received")).to_be_visible()
    await expect(claimer.locator("#refund-address-given")).to_have_text(refund_to)
    await shot(claimer, "refund-claim-address-given-360")

    # 4. The merchant pays it with their browser wallet from the refund's page.
    before = balance(dev, refund_to)
    await merchant.reload()
    await expect(merchant.locator("#refund-status")).to_have_text("pending")
    await shot(merchant, "dashboard-refund-desktop")
    await merchant.set_viewport_size(MOBILE)
    await shot(merchant, "dashboard-refund-360")
    assert await merchant.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), "the refund page scrolls sideways at 360 px"
    await merchant.set_viewport_size(DESKTOP)
    await merchant.get_by_role("button", name="Pay refund").click()
    await expect(merchant.locator("#wallet-message")).to_contain_text("Refund sent", timeout=20_000)

    # 5. The watcher recognises the transfer; the webhook receiver hears of it.
    shop.wait_for_event(refund_id, "refund.succeeded", timeout=30)
    assert balance(dev, refund_to) == before + int(payment["amount_base_units"])
    assert shop.events_for(refund_id) == [
        "refund.created",
        "refund.address_provided",
        "refund.succeeded",
    ]
    delivered = next(
        w
        for w in shop.webhooks
        if w["type"] == "refund.succeeded" and w["data"]["object"]["id"] == refund_id
    )
    Webhook(shop.secret).verify(delivered["_raw"], delivered["_headers"])
    refund = delivered["data"]["refund"]
    assert refund["status"] == "succeeded" and refund["address"] == refund_to
    assert refund["tx_hash"] and refund["amount_base_units"] == payment["amount_base_units"]
    await merchant.reload()
    await expect(merchant.locator("#refund-status")).to_have_text("succeeded")
    await claimer.reload()
    await expect(claimer.get_by_text("Refund sent")).to_be_visible()
    await shot(claimer, "refund-claim-sent-360")
    await merchant.goto(f"{origin}/dashboard/refunds")
    await expect(merchant.get_by_role("link", name=refund_id)).to_be_visible()
    await shot(merchant, "dashboard-refunds-desktop")
    await merchant.set_viewport_size(MOBILE)
    await shot(merchant, "dashboard-refunds-360")

    for context in (shopper_context, merchant_context, claimer_context):
        await context.close()
    assert csp.violations == []
