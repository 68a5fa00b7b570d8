"""The checkout page through the Quart test client: steps, fragments, no-JS forms, escaping."""

from __future__ import annotations

import gzip
import re
from typing import Any

from quart.typing import TestClientProtocol as Client

from app.models import CheckoutSession, Event, Payment
from app.states import SessionStatus
from tests.checkout.conftest import create_session
from tests.conftest import MerchantKeys

HTMX = {"HX-Request": "true"}


async def text(response: Any) -> str:
    return await response.get_data(as_text=True)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def test_page_shows_merchant_amount_countdown_and_choices(
    client: Client, session: CheckoutSession
) -> None:
    response = await client.get(f"/checkout/{session.id}")
    assert response.status_code == 200
    html = await text(response)
    assert "Acme Shop" in html
    assert "$12.34" in html  # the total as the page's locale writes it (English here)
    assert 'id="countdown"' in html and re.search(r">1[45]:\d\d<", html)
    assert 'value="devnet:ETH"' in html and 'value="devnet:USDC"' in html
    assert "ETH</span>" in html and "on Local devnet" in html


async def test_preview_fragment_shows_crypto_amount(
    client: Client, session: CheckoutSession
) -> None:
    response = await client.get(f"/checkout/{session.id}/preview?option=devnet:USDC", headers=HTMX)
    html = await text(response)
    assert response.status_code == 200
    assert "<html" not in html  # a fragment, never a whole page
    assert "12.34 USDC" in html
    eth = await text(
        await client.get(f"/checkout/{session.id}/preview?option=devnet:ETH", headers=HTMX)
    )
    assert "0.00617 ETH" in eth  # 12.34 / 2000, rounded up to wei


async def test_no_js_preview_is_a_page_query(client: Client, session: CheckoutSession) -> None:
    response = await client.get(f"/checkout/{session.id}/preview?option=devnet:USDC")
    assert response.status_code == 303
    page = await text(await client.get(response.headers["Location"]))
    assert "12.34 USDC" in page and 'value="devnet:USDC" required' in page.replace("\n", " ")


async def test_no_js_pay_form_shows_amount_qr_and_uri(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    page = await text(await client.get(f"/checkout/{session.id}"))
    response = await client.post(
        f"/checkout/{session.id}/pay", form={"option": "devnet:USDC", "csrf_token": csrf_of(page)}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/checkout/{session.id}"
    html = await text(await client.get(f"/checkout/{session.id}"))
    assert "12.34</output> USDC" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="qr"' in html
    assert "ethereum:0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512@31337/transfer?" in html
    assert 'class="open-wallet"' in html
    assert "Waiting for your transaction" in html
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in html
    assert f'<a href="/checkout/{session.id}">Refresh status</a>' in html


async def test_htmx_pay_returns_pay_fragment_with_status(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    page = await text(await client.get(f"/checkout/{session.id}"))
    response = await client.post(
        f"/checkout/{session.id}/pay",
        form={"option": "devnet:ETH"},
        headers={**HTMX, "X-CSRF-Token": csrf_of(page)},
    )
    html = await text(response)
    assert response.status_code == 200, html
    assert "<html" not in html
    assert "0.00617</output> ETH" in html
    assert "data-kassa-pay" in html and 'data-chain-id="0x7a69"' in html
    assert 'hx-swap-oob="innerHTML:#status"' in html


async def test_status_fragment_and_no_js_refresh(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    page = await text(await client.get(f"/checkout/{session.id}"))
    await client.post(
        f"/checkout/{session.id}/pay", form={"option": "devnet:ETH", "csrf_token": csrf_of(page)}
    )
    fragment = await text(await client.get(f"/checkout/{session.id}/status", headers=HTMX))
    assert "Waiting for your transaction" in fragment and "<html" not in fragment
    payment = await Payment.get(session_id=session.id)
    await Payment.filter(id=payment.id).update(tx_hash="0x" + "ab" * 32, confirmations=1)
    fragment = await text(await client.get(f"/checkout/{session.id}/status", headers=HTMX))
    assert "Transaction seen: 1 of 2 confirmations" in fragment
    # Without JS the status URL leads back to the page, which shows the same status.
    plain = await client.get(f"/checkout/{session.id}/status")
    assert plain.status_code == 303
    assert "1 of 2 confirmations" in await text(await client.get(plain.headers["Location"]))
    # Deep enough but not final yet (a network waiting for its finalized tag): never "2 of 2".
    await Payment.filter(id=payment.id).update(confirmations=2)
    fragment = await text(await client.get(f"/checkout/{session.id}/status", headers=HTMX))
    assert "Waiting for the network to finalize it" in fragment and "2 of 2" not in fragment


async def test_completed_session_redirect_and_final_page(
    client: Client, session: CheckoutSession
) -> None:
    await CheckoutSession.filter(id=session.id).update(status=SessionStatus.COMPLETED)
    fragment = await text(await client.get(f"/checkout/{session.id}/status", headers=HTMX))
    target = f"https://shop.example/thanks?session={session.id}"
    assert f'href="{target}" data-redirect' in fragment
    page = await text(await client.get(f"/checkout/{session.id}"))
    assert "Payment complete" in page
    assert f'content="3;url={target}"' in page


async def test_expired_session_shows_final_page(client: Client, session: CheckoutSession) -> None:
    await CheckoutSession.filter(id=session.id).update(status=SessionStatus.EXPIRED)
    page = await text(await client.get(f"/checkout/{session.id}"))
    assert "This checkout has expired" in page
    assert "Pay with" not in page


async def test_cancel_transitions_and_redirects(client: Client, session: CheckoutSession) -> None:
    page = await text(await client.get(f"/checkout/{session.id}"))
    response = await client.post(
        f"/checkout/{session.id}/cancel", form={"csrf_token": csrf_of(page)}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "https://shop.example/cart"
    assert (await CheckoutSession.get(id=session.id)).status == "canceled"
    assert await Event.filter(object_id=session.id, type="checkout.session.canceled").count() == 1
    # htmx gets a client-side redirect instead of a 303 it would follow itself.
    again = await client.post(
        f"/checkout/{session.id}/cancel", headers={**HTMX, "X-CSRF-Token": csrf_of(page)}
    )
    assert again.headers["HX-Redirect"] == "https://shop.example/cart"


async def test_unknown_session_is_404(client: Client) -> None:
    assert (await client.get("/checkout/cs_test_nope")).status_code == 404
    assert (await client.get("/checkout/cs_test_" + "a" * 24)).status_code == 404


async def test_merchant_text_is_escaped(
    client: Client, payable_merchant: MerchantKeys, registry: Any
) -> None:
    from app.models import Merchant

    await Merchant.filter(id=payable_merchant.merchant.id).update(
        name='<script>alert(1)</script>"><img src=x>'
    )
    created = await create_session(client, payable_merchant)
    html = await text(await client.get(f"/checkout/{created['id']}"))
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x&gt;" in html


async def test_page_is_gzip_compressed(client: Client, session: CheckoutSession) -> None:
    response = await client.get(f"/checkout/{session.id}", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Acme Shop" in gzip.decompress(await response.get_data()).decode()


async def test_no_payment_method_message(
    client: Client, payable_merchant: MerchantKeys, registry: Any
) -> None:
    from app.models import Merchant

    created = await create_session(client, payable_merchant)
    # The merchant removed its payout address after the session was created.
    await Merchant.filter(id=payable_merchant.merchant.id).update(payout_addresses={})
    html = await text(await client.get(f"/checkout/{created['id']}"))
    assert "No payment method is available" in html


async def test_page_with_assets_stays_under_60_kb_compressed(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    """The same sum bench/checkout.py reports (bodies only here), as a regression guard."""
    gzip_headers = {"Accept-Encoding": "gzip"}
    page = await client.get(f"/checkout/{session.id}", headers=gzip_headers)
    html = gzip.decompress(await page.get_data()).decode()
    total = len(await page.get_data())
    assets = re.findall(r'<(?:script[^>]+src|link[^>]+href)="(/static/[^"]+)"', html)
    assert len(assets) == 6
    for path in assets:
        asset = await client.get(path, headers=gzip_headers)
        assert asset.status_code == 200, path
        assert "immutable" in asset.headers["Cache-Control"]
        total += len(await asset.get_data())
    assert total < 60 * 1024, total


async def test_refused_payment_shows_the_reason(
    client: Client, session: CheckoutSession, monkeypatch: Any
) -> None:
    import app.payments
    from app.payments import PaymentRefused

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise PaymentRefused("quote_unavailable", "No price for ETH/USD right now.", status=503)

    monkeypatch.setattr(app.payments, "create_payment", refuse)
    token = csrf_of(await text(await client.get(f"/checkout/{session.id}")))
    fragment = await client.post(
        f"/checkout/{session.id}/pay",
        form={"option": "devnet:ETH"},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert fragment.status_code == 503
    assert "No price for ETH/USD right now." in await text(fragment)
    page = await client.post(
        f"/checkout/{session.id}/pay", form={"option": "devnet:ETH", "csrf_token": token}
    )
    html = await text(page)
    assert page.status_code == 503
    assert "No price for ETH/USD right now." in html and 'value="devnet:ETH"' in html


async def test_choose_another_currency_fragment(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    token = csrf_of(await text(await client.get(f"/checkout/{session.id}")))
    await client.post(
        f"/checkout/{session.id}/pay", form={"option": "devnet:ETH", "csrf_token": token}
    )
    fragment = await client.get(f"/checkout/{session.id}?choose=1", headers=HTMX)
    html = await text(fragment)
    assert "<html" not in html and 'value="devnet:USDC"' in html
    assert "HX-Request" in fragment.headers["Vary"]
    # Without the choose flag the page shows the pending payment's pay step.
    assert "Send exactly" in await text(await client.get(f"/checkout/{session.id}"))
