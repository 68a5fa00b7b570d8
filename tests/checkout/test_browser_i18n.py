"""The checkout in Chromium in the shopper's language, against `kassa dev --json`: a browser
set to German sees the page, the preview, the pay step and the live status in German with
"50,00 €"; a session fixed to French stays French. Screenshots go where test_browser.py's go."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.checkout.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    SCREENSHOTS,
    DevServer,
    MerchantSite,
    add_test_wallet,
    merchant_site,
    start_kassa_dev,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]

playwright_api = pytest.importorskip("playwright.async_api")


def plain(text: str) -> str:
    """No-break spaces (CLDR's, inside amounts) as plain spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = start_kassa_dev(tmp_path_factory.mktemp("kassa-dev-i18n"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shop() -> Iterator[MerchantSite]:
    with merchant_site() as site:
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


@pytest.fixture
async def german_page(browser: Any) -> AsyncIterator[Any]:
    """A browser whose user speaks German: Chromium sends `Accept-Language: de-DE,de;q=0.9`."""
    context = await browser.new_context(viewport=DESKTOP, locale="de-DE")
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def test_german_browser_sees_the_page_in_german(
    dev: DevServer, shop: MerchantSite, german_page: Any
) -> None:
    page = german_page
    session = dev.create_session(
        shop, amount_fiat="50.00", currency="EUR", allowed_crypto_currencies=["ETH", "USDC"]
    )
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.headers.get("accept-language", "")))
    await page.goto(session["checkout_url"])
    assert sent[0].startswith("de")
    assert await page.locator("html").get_attribute("lang") == "de"
    assert plain(await page.locator("h1.amount").inner_text()).endswith("50,00 €")
    assert (await page.title()).endswith(" bezahlen")  # "%(merchant)s bezahlen"
    assert await page.locator("legend").inner_text() == "Bezahlen mit"
    assert "Wählen Sie eine Währung" in await page.locator("#status").inner_text()
    # The preview (an htmx fragment): 50 € at 1850 €/ETH, with a decimal comma.
    await page.locator('input[value="devnet:ETH"]').check()
    await page.locator("#preview", has_text="Sie zahlen").wait_for()
    assert "0,027028 ETH" in await page.locator("#preview").inner_text()
    # Pay: the pay step and the live status (server-sent events) in German too.
    await page.get_by_role("button", name="Bezahlen", exact=True).click()
    await page.locator("#pay h2", has_text="Senden Sie genau").wait_for()
    assert await page.locator("#amount-due").inner_text() == "0,027028"
    copy = page.get_by_role("button", name="Betrag kopieren")
    assert await copy.get_attribute("data-copy") == "0.027028"  # what a wallet reads
    await page.locator("#status", has_text="Warten auf Ihre Transaktion").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "checkout-de-pay.png"), full_page=True)


async def test_the_wallet_speaks_german_too(
    dev: DevServer, shop: MerchantSite, browser: Any, accounts: list[str]
) -> None:
    """wallet.js's messages come from the page: a rejection in the wallet is explained in
    German, the retry button says so in German, and the retry pays."""
    context = await browser.new_context(viewport=DESKTOP, locale="de-DE")
    try:
        await add_test_wallet(context, dev.info["rpc_url"], accounts[8])
        page = await context.new_page()
        session = dev.create_session(
            shop, amount_fiat="50.00", currency="EUR", allowed_crypto_currencies=["ETH"]
        )
        await page.goto(session["checkout_url"])
        await page.locator('input[value="devnet:ETH"]').check()
        await page.locator("#preview", has_text="Sie zahlen").wait_for()
        await page.get_by_role("button", name="Bezahlen", exact=True).click()
        wallet_button = page.get_by_role("button", name="Mit Browser-Wallet bezahlen")
        await wallet_button.wait_for()
        await page.evaluate("window.__testWallet.rejectNext = true")
        await wallet_button.click()
        message = page.locator("#wallet-message")
        await message.get_by_text("Sie haben die Anfrage in Ihrer Wallet abgelehnt.").wait_for()
        assert await message.get_attribute("class") == "wallet-message error"
        retry = page.get_by_role("button", name="Erneut versuchen", exact=True)
        await retry.wait_for()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "checkout-de-wallet-rejected.png"))
        await retry.click()
        await page.wait_for_url(f"{shop.origin}/success?session={session['id']}", timeout=30_000)
    finally:
        await context.close()


async def test_a_french_session_stays_french_in_a_german_browser(
    dev: DevServer, shop: MerchantSite, german_page: Any
) -> None:
    session = dev.create_session(shop, amount_fiat="50.00", currency="EUR", locale="fr")
    await german_page.goto(session["checkout_url"])
    assert await german_page.locator("html").get_attribute("lang") == "fr"
    assert plain(await german_page.locator("h1.amount").inner_text()).endswith("50,00 €")
    assert await german_page.locator("legend").inner_text() == "Payer avec"
