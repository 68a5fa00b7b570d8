"""End to end in Chromium against `kassa dev --json`: pay, reject and retry, cancel, expire,
no-JS, the test-wallet button; screenshots of each step go to docs/img/."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.checkout.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    MOBILE,
    SCREENSHOTS,
    WALLET_RPC_PATH,
    DevServer,
    MerchantSite,
    merchant_site,
    mint_test_tokens,
    start_kassa_dev,
    wallet_init_script,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]

playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = start_kassa_dev(tmp_path_factory.mktemp("kassa-dev"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shop(dev: DevServer) -> Iterator[MerchantSite]:
    with merchant_site(dev) as site:
        yield site


@pytest.fixture(scope="module")
def accounts(dev: DevServer) -> list[str]:
    body = httpx.post(
        dev.info["rpc_url"], json={"jsonrpc": "2.0", "id": 1, "method": "eth_accounts"}
    ).json()
    return list(body["result"])


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


class Shopper:
    """One browser context: page, its outgoing requests, and the injected wallet."""

    def __init__(self, page: Any, requests: list[Any], wallet_log: list[str]) -> None:
        self.page = page
        self.requests = requests
        self.wallet_log = wallet_log  # wallet methods the page called, besides eth_*
        self.console: list[str] = []

    def csp_violations(self) -> list[str]:
        return [text for text in self.console if "Content Security Policy" in text]

    def foreign_requests(self, origin: str, allowed_navigations: set[str]) -> list[str]:
        """Requests that left the checkout origin, other than navigations to the merchant."""
        foreign = []
        for request in self.requests:
            if request.url.startswith(origin + "/"):
                continue
            if request.is_navigation_request() and request.url in allowed_navigations:
                continue
            foreign.append(request.url)
        return foreign


@pytest.fixture
async def new_shopper(
    browser: Any, dev: DevServer
) -> AsyncIterator[Callable[..., Awaitable[Shopper]]]:
    contexts: list[Any] = []
    shoppers: list[Shopper] = []

    async def make(
        viewport: dict[str, int] = DESKTOP,
        javascript: bool = True,
        account: str | None = None,
        start_chain_id: str | None = None,
    ) -> Shopper:
        wallet_log: list[str] = []
        context = await browser.new_context(viewport=viewport, java_script_enabled=javascript)
        contexts.append(context)
        if account is not None:
            await context.add_init_script(wallet_init_script(account, start_chain_id))

            async def forward(route: Any) -> None:
                # The test wallet's RPC (see tests/checkout/browser.py), answered by anvil.
                call = json.loads(route.request.post_data or "{}")
                if call.get("method") == "testwallet_log":
                    wallet_log.extend(call.get("params", []))
                    await route.fulfill(json={"jsonrpc": "2.0", "id": call["id"], "result": None})
                    return
                async with httpx.AsyncClient() as client:
                    answer = await client.post(
                        dev.info["rpc_url"],
                        content=route.request.post_data,
                        headers={"Content-Type": "application/json"},
                    )
                await route.fulfill(
                    status=200, body=answer.content, content_type="application/json"
                )

            await context.route(f"**{WALLET_RPC_PATH}", forward)
        page = await context.new_page()
        requests: list[Any] = []
        page.on("request", lambda request: requests.append(request))
        shopper = Shopper(page, requests, wallet_log)
        page.on("console", lambda message: shopper.console.append(message.text))
        shoppers.append(shopper)
        return shopper

    yield make
    for context in contexts:
        await context.close()
    # Whatever the test did, the page never tripped its own CSP (console reports each refusal).
    assert [v for shopper in shoppers for v in shopper.csp_violations()] == []


async def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def session_status(dev: DevServer, session_id: str) -> str:
    return str(dev.api("GET", f"/checkout/sessions/{session_id}")["status"])


def success_url(shop: MerchantSite, session_id: str) -> str:
    return f"{shop.origin}/success?session={session_id}"


async def no_horizontal_scroll(page: Any) -> bool:
    """Usable at 360 px: nothing wider than the viewport."""
    return bool(
        await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


async def choose_and_pay(page: Any, symbol: str) -> None:
    await page.get_by_label(symbol, exact=False).first.check()
    await page.locator("#preview .crypto").wait_for()
    await page.get_by_role("button", name="Pay", exact=True).click()
    await page.locator("#pay").wait_for()


async def test_pay_eth_with_browser_wallet(
    dev: DevServer, shop: MerchantSite, accounts: list[str], new_shopper: Any
) -> None:
    session = dev.create_session(shop)
    shopper = await new_shopper(account=accounts[5])
    page = shopper.page
    await page.goto(session["checkout_url"])
    await page.get_by_text("Kassa Demo Shop").first.wait_for()
    await shot(page, "1-choose-desktop")
    await page.get_by_label("ETH", exact=False).first.check()
    await page.locator("#preview .crypto").wait_for()
    assert "0.00617 ETH" in await page.locator("#preview").inner_text()
    await shot(page, "2-preview-desktop")
    await page.get_by_role("button", name="Pay", exact=True).click()
    await page.locator("#pay").wait_for()
    assert await page.locator("#amount-due").inner_text() == "0.00617"
    assert await page.locator("svg.qr").count() == 1
    await shot(page, "3-pay-desktop")
    await page.locator("#wallet-pay").click()
    await page.get_by_text("Payment confirmed").wait_for(timeout=20_000)
    await shot(page, "4-confirmed-desktop")
    await page.wait_for_url(success_url(shop, session["id"]), timeout=20_000)
    assert session_status(dev, session["id"]) == "completed"
    shop.wait_for_event(session["id"], "checkout.session.completed")
    delivered = next(
        w
        for w in shop.webhooks
        if w["type"] == "checkout.session.completed" and w["data"]["object"]["id"] == session["id"]
    )
    # Signed the Standard Webhooks way with the endpoint's secret.
    Webhook(shop.secret).verify(delivered["_raw"], delivered["_headers"])
    assert shopper.foreign_requests(dev.origin, {success_url(shop, session["id"])}) == []
    assert shopper.csp_violations() == []


async def test_pay_six_decimals_token_with_approve_and_chain_add(
    dev: DevServer, shop: MerchantSite, accounts: list[str], new_shopper: Any
) -> None:
    payer = accounts[6]
    mint_test_tokens(dev.info["rpc_url"], dev.info["tokens"]["USDC"], payer, 100 * 10**6)
    session = dev.create_session(shop)
    # The wallet starts on mainnet and does not know the devnet: 4902 -> add -> switch.
    shopper = await new_shopper(viewport=MOBILE, account=payer, start_chain_id="0x1")
    page = shopper.page
    await page.goto(session["checkout_url"])
    assert await no_horizontal_scroll(page)
    await shot(page, "1-choose-mobile")
    await choose_and_pay(page, "USDC")
    assert await page.locator("#amount-due").inner_text() == "12.34"
    assert await no_horizontal_scroll(page)
    await shot(page, "3-pay-mobile")
    await page.locator("#wallet-pay").click()
    await page.wait_for_url(success_url(shop, session["id"]), timeout=30_000)
    assert session_status(dev, session["id"]) == "completed"
    shop.wait_for_event(session["id"], "checkout.session.completed")
    payment = dev.api("GET", f"/checkout/sessions/{session['id']}")["payment_id"]
    assert payment
    assert shopper.foreign_requests(dev.origin, {success_url(shop, session["id"])}) == []
    # Approve then pay: two transactions from the payer, plus the chain-add dance.
    wallet_methods = [
        json.loads(r.post_data or "{}").get("method")
        for r in shopper.requests
        if r.url.endswith(WALLET_RPC_PATH)
    ]
    assert wallet_methods.count("eth_sendTransaction") == 2
    assert shopper.wallet_log == [
        "wallet_switchEthereumChain",  # refused with 4902: the wallet does not know the devnet
        "wallet_addEthereumChain",
        "wallet_switchEthereumChain",
    ]


async def test_rejected_then_retry(
    dev: DevServer, shop: MerchantSite, accounts: list[str], new_shopper: Any
) -> None:
    session = dev.create_session(shop)
    shopper = await new_shopper(account=accounts[7])
    page = shopper.page
    await page.goto(session["checkout_url"])
    await choose_and_pay(page, "ETH")
    await page.evaluate("window.__testWallet.rejectNext = true")
    await page.locator("#wallet-pay").click()
    message = page.locator("#wallet-message")
    await message.get_by_text("You rejected the request in your wallet.").wait_for()
    retry = page.get_by_role("button", name="Try again")
    await retry.wait_for()
    await shot(page, "5-wallet-rejected-desktop")
    assert session_status(dev, session["id"]) == "open"
    await retry.click()
    await page.wait_for_url(success_url(shop, session["id"]), timeout=20_000)
    assert session_status(dev, session["id"]) == "completed"


async def test_cancel_lands_on_cancel_url(
    dev: DevServer, shop: MerchantSite, new_shopper: Any
) -> None:
    session = dev.create_session(shop)
    shopper = await new_shopper()
    page = shopper.page
    await page.goto(session["checkout_url"])
    await page.get_by_role("button", name="Cancel and return to Kassa Demo Shop").click()
    await page.wait_for_url(f"{shop.origin}/cancel")
    assert session_status(dev, session["id"]) == "canceled"
    shop.wait_for_event(session["id"], "checkout.session.canceled")


async def test_expired_session_shows_expired_page(
    dev: DevServer, shop: MerchantSite, new_shopper: Any
) -> None:
    session = dev.create_session(shop)
    dev.api("POST", f"/checkout/sessions/{session['id']}/expire")
    for viewport, name in ((DESKTOP, "desktop"), (MOBILE, "mobile")):
        shopper = await new_shopper(viewport=viewport)
        await shopper.page.goto(session["checkout_url"])
        await shopper.page.get_by_role("heading", name="This checkout has expired").wait_for()
        assert await shopper.page.get_by_role("button", name="Pay").count() == 0
        await shot(shopper.page, f"6-expired-{name}")


async def test_without_javascript_amount_qr_uri_and_status_refresh(
    dev: DevServer, shop: MerchantSite, new_shopper: Any
) -> None:
    session = dev.create_session(shop)
    shopper = await new_shopper(viewport=MOBILE, javascript=False)
    page = shopper.page
    await page.goto(session["checkout_url"])
    await page.get_by_label("USDT", exact=False).first.check()
    await page.get_by_role("button", name="Show amount").click()
    assert "12.34 USDT" in await page.locator("#preview").inner_text()
    await page.get_by_role("button", name="Pay", exact=True).click()
    await page.locator("#pay").wait_for()
    assert await page.locator("#amount-due").inner_text() == "12.34"
    assert await page.locator("svg.qr").count() == 1
    uri = await page.locator("#payment-uri").inner_text()
    assert uri.startswith("ethereum:") and "@31337" in uri
    assert await page.locator("a.open-wallet").get_attribute("href") == uri
    # The browser-wallet button needs JavaScript, so without it the button stays hidden.
    assert not await page.locator("#wallet-pay").is_visible()
    await shot(page, "7-no-javascript-mobile")
    # The test wallet is a plain form; the status then refreshes by following a link.
    await page.get_by_role("button", name="Pay with test wallet").click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if await page.get_by_text("Payment complete").count():
            break
        if page.url.startswith(shop.origin):
            break
        link = page.get_by_role("link", name="Refresh status")
        if await link.count():
            await link.click()
        else:
            await page.reload()
        await page.wait_for_timeout(300)
    assert session_status(dev, session["id"]) == "completed"


async def test_without_javascript_a_plain_transfer_ends_on_success_url(
    dev: DevServer, shop: MerchantSite, new_shopper: Any
) -> None:
    """The exchange path: no JavaScript, no wallet on the page. The shopper copies the
    deposit address and amount; another account sends a plain token transfer; refreshing the
    status ends on the merchant's success_url."""
    from web3 import HTTPProvider, Web3

    from plugins.evm.contract import load_artifact

    session = dev.create_session(shop)
    shopper = await new_shopper(viewport=MOBILE, javascript=False)
    page = shopper.page
    await page.goto(session["checkout_url"])
    await page.get_by_label("USDC", exact=False).first.check()
    await page.get_by_role("button", name="Pay", exact=True).click()
    await page.locator("#pay").wait_for()
    deposit = await page.locator("#deposit-address").inner_text()
    assert await page.locator("#amount-due").inner_text() == "12.34"
    assert "Send from any wallet or exchange" in await page.locator("#pay").inner_text()
    uri = await page.locator("#payment-uri").inner_text()
    usdc = dev.info["tokens"]["USDC"]
    assert uri == f"ethereum:{usdc}@31337/transfer?address={deposit}&uint256=12340000"
    # The contract is where the (hidden, JavaScript-only) wallet button sends its call, never
    # a place the page tells anyone to send money.
    assert dev.info["contract"] not in await page.locator("body").inner_text()
    await shot(page, "8-deposit-address-no-javascript-mobile")

    # Another anvil account (unlocked by the node) sends like an exchange would.
    w3 = Web3(HTTPProvider(dev.info["rpc_url"]))
    sender = w3.eth.accounts[9]
    token = w3.eth.contract(address=usdc, abi=load_artifact("TestERC20")["abi"])
    w3.eth.wait_for_transaction_receipt(
        token.functions.mint(sender, 12_340_000).transact({"from": sender})
    )
    w3.eth.wait_for_transaction_receipt(
        token.functions.transfer(deposit, 12_340_000).transact({"from": sender})
    )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not page.url.startswith(f"{shop.origin}/success"):
        link = page.get_by_role("link", name="Refresh status")
        if await link.count():
            await link.click()
        await page.wait_for_timeout(500)
    assert page.url.startswith(f"{shop.origin}/success"), page.url
    assert session_status(dev, session["id"]) == "completed"
    paid = dev.api("GET", f"/checkout/sessions/{session['id']}")
    payment = dev.api("GET", f"/payments/{paid['payment_id']}")
    assert payment["deposit_address"] == deposit and payment["amount_received"] == "12.34"


async def test_kassa_dev_test_wallet_button(
    dev: DevServer, shop: MerchantSite, new_shopper: Any
) -> None:
    """The newcomer's path: `kassa dev --json`, a session with its key, the test wallet."""
    assert dev.info["network"] == "devnet" and dev.info["chain_id"] == 31337
    assert set(dev.info["tokens"]) == {"USDC", "USDT"}
    session = dev.create_session(shop, amount_fiat="25.00")
    shopper = await new_shopper(viewport=MOBILE)  # no browser wallet at all
    page = shopper.page
    await page.goto(session["checkout_url"])
    await choose_and_pay(page, "USDT")
    await page.locator("#wallet-pay").click()
    await page.get_by_text("No browser wallet found").wait_for()
    await page.get_by_role("button", name="Pay with test wallet").click()
    await page.wait_for_url(success_url(shop, session["id"]), timeout=20_000)
    assert session_status(dev, session["id"]) == "completed"
    shop.wait_for_event(session["id"], "checkout.session.completed")
    assert shopper.foreign_requests(dev.origin, {success_url(shop, session["id"])}) == []


def test_ready_line_is_one_json_object(dev: DevServer) -> None:
    keys = {"api_base", "secret_key", "rpc_url", "chain_id", "contract", "tokens", "network"}
    assert keys <= set(dev.info)
    assert dev.info["secret_key"].startswith("sk_test_")
    assert (Path(dev.cwd) / "kassa.db").exists()


async def test_keyboard_only_choose_and_pay(
    dev: DevServer, shop: MerchantSite, new_shopper: Any
) -> None:
    """Focus order: the choices, then Pay; every control is reachable and labelled."""
    session = dev.create_session(shop)
    shopper = await new_shopper(viewport=MOBILE)
    page = shopper.page
    await page.goto(session["checkout_url"])
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.value")
    assert focused == "devnet:ETH"
    await page.keyboard.press("ArrowDown")  # radio group: moves to and selects USDC
    await page.locator("#preview .crypto").wait_for()
    assert "USDC" in await page.locator("#preview").inner_text()
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent.trim()") == "Pay"
    await page.keyboard.press("Enter")
    await page.locator("#pay").wait_for()
    unlabeled = await page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), button, a')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                          && !e.textContent.trim() && !e.hidden).length"""
    )
    assert unlabeled == 0


async def test_browser_enforces_the_csp(dev: DevServer, shop: MerchantSite, browser: Any) -> None:
    """Injected markup cannot run: inline scripts and handlers are refused by the page's CSP.

    (Playwright's own `evaluate` is exempt from CSP, so only what it injects is tested.)
    """
    session = dev.create_session(shop)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        await page.goto(session["checkout_url"])
        ran = await page.evaluate(
            """() => { window.__ran = false;
                 const s = document.createElement('script');
                 s.textContent = 'window.__ran = true';
                 document.body.appendChild(s);
                 const handler = document.createElement('img');
                 handler.setAttribute('onerror', 'window.__ran = true');
                 handler.src = 'data:,';
                 document.body.appendChild(handler);
                 return window.__ran; }"""
        )
        assert ran is False
        await page.wait_for_timeout(200)
        assert await page.evaluate("window.__ran") is False
        assert any("Content Security Policy" in text for text in console), console
    finally:
        await context.close()


async def test_line_items_listed(dev: DevServer, shop: MerchantSite, new_shopper: Any) -> None:
    """A session created with line_items shows each item above the total, on a phone too."""
    line_items = [
        {
            "price_data": {
                "currency": "usd",
                "unit_amount": 1250,
                "product_data": {"name": "Earl Grey", "description": "Loose leaf, 100 g"},
            },
            "quantity": 2,
        },
        {
            "price_data": {
                "currency": "usd",
                "unit_amount": 1999,
                "product_data": {"name": "Teapot with a rather long name that has to wrap"},
            },
            "quantity": 1,
        },
    ]
    session = dev.create_session(shop, amount_fiat=None, currency=None, line_items=line_items)
    assert session["amount_fiat"] == "44.99"
    for viewport, name in ((DESKTOP, "desktop"), (MOBILE, "mobile")):
        shopper = await new_shopper(viewport=viewport)
        page = shopper.page
        await page.goto(session["checkout_url"])
        items = page.locator(".line-items .line-item")
        await items.first.wait_for()
        assert await items.count() == 2
        first = items.nth(0)
        assert await first.locator(".line-name").inner_text() == "Earl Grey"
        assert await first.locator(".line-description").inner_text() == "Loose leaf, 100 g"
        assert await first.locator(".line-quantity").inner_text() == "2 × $12.50"
        assert await first.locator(".line-total").inner_text() == "$25.00"
        assert await items.nth(1).locator(".line-total").inner_text() == "$19.99"
        assert "$44.99" in await page.locator("h1.amount").inner_text()
        # Listed above the total, inside the summary.
        list_box = await page.locator(".line-items").bounding_box()
        total_box = await page.locator("h1.amount").bounding_box()
        assert list_box is not None and total_box is not None
        assert list_box["y"] + list_box["height"] <= total_box["y"]
        assert await no_horizontal_scroll(page)
        await shot(page, f"7-line-items-{name}")
