"""CSP, CSRF, rate limits and the dev-only test wallet, through the Quart test client."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol as Client

from app.models import CheckoutSession, Payment
from tests.checkout.test_page import HTMX, csrf_of, text


def directives(policy: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in policy.split(";")
        if part.strip()
    }


async def test_csp_has_fresh_nonces_and_no_unsafe_sources(
    client: Client, session: CheckoutSession
) -> None:
    first = await client.get(f"/checkout/{session.id}")
    second = await client.get(f"/checkout/{session.id}")
    policy = directives(first.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["connect-src"] == "'self'"
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{20,})'", policy["script-src"])
    assert nonce, policy["script-src"]
    assert "unsafe" not in first.headers["Content-Security-Policy"]
    assert first.headers["Content-Security-Policy"] != second.headers["Content-Security-Policy"]
    # Form posts may only reach us, plus the merchant's redirect origin (cancel without JS).
    assert policy["form-action"] == "'self' https://shop.example"
    assert first.headers["X-Frame-Options"] == "DENY"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Referrer-Policy"] == "no-referrer"
    html = await text(first)
    # No inline code at all: every script and stylesheet is a file from this origin.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


async def test_fragments_and_errors_carry_the_csp(client: Client, session: CheckoutSession) -> None:
    fragment = await client.get(f"/checkout/{session.id}/status", headers=HTMX)
    assert "frame-ancestors 'none'" in fragment.headers["Content-Security-Policy"]
    missing = await client.get("/checkout/cs_test_" + "x" * 24)
    assert missing.status_code == 404
    assert "frame-ancestors 'none'" in missing.headers["Content-Security-Policy"]


async def test_state_changes_without_csrf_token_are_refused(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    page = await text(await client.get(f"/checkout/{session.id}"))
    token = csrf_of(page)
    for path, form in (("pay", {"option": "devnet:ETH"}), ("cancel", {}), ("test-wallet", {})):
        refused = await client.post(f"/checkout/{session.id}/{path}", form=form)
        assert refused.status_code == 403, path
        wrong = await client.post(
            f"/checkout/{session.id}/{path}", form={**form, "csrf_token": "0" * 64}
        )
        assert wrong.status_code == 403, path
    hint = await client.post(f"/checkout/{session.id}/tx", json={"tx_hash": "0x" + "1" * 64})
    assert hint.status_code == 403
    # A cross-site request is refused even with a valid token (browsers label it).
    cross = await client.post(
        f"/checkout/{session.id}/cancel",
        form={"csrf_token": token},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert await Payment.filter(session_id=session.id).count() == 0
    assert (await CheckoutSession.get(id=session.id)).status == "open"


async def test_csrf_token_is_bound_to_the_session(
    client: Client, session: CheckoutSession, payable_merchant: Any
) -> None:
    from tests.checkout.conftest import create_session

    other = await create_session(client, payable_merchant)
    token_for_other = csrf_of(await text(await client.get(f"/checkout/{other['id']}")))
    refused = await client.post(
        f"/checkout/{session.id}/cancel", form={"csrf_token": token_for_other}
    )
    assert refused.status_code == 403


async def test_csrf_cookie_is_strict_and_http_only(
    client: Client, session: CheckoutSession
) -> None:
    response = await client.get(f"/checkout/{session.id}")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("kassa_csrf=")
    # Path=/: the page's token also authorises its session's payment call under /v1.
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/;" in cookie + ";"


async def test_payment_creation_is_rate_limited_per_session(
    app: Quart, client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    token = csrf_of(await text(await client.get(f"/checkout/{session.id}")))
    burst = app.config["KASSA_SETTINGS"].checkout_payments_per_session_burst
    for _ in range(burst):
        ok = await client.post(
            f"/checkout/{session.id}/pay",
            form={"option": "devnet:ETH"},
            headers={**HTMX, "X-CSRF-Token": token},
        )
        assert ok.status_code == 200
    limited = await client.post(
        f"/checkout/{session.id}/pay",
        form={"option": "devnet:ETH"},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["HX-Retarget"] == "#notice"
    assert "Too many payment attempts" in await text(limited)
    # Without htmx the shopper gets the page with the message, still a 429.
    plain = await client.post(
        f"/checkout/{session.id}/pay", form={"option": "devnet:ETH", "csrf_token": token}
    )
    plain_html = await text(plain)
    assert plain.status_code == 429 and "<html" in plain_html
    assert "Too many payment attempts" in plain_html
    assert await Payment.filter(session_id=session.id).count() == burst


async def test_test_wallet_is_absent_outside_dev_mode(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    token = csrf_of(await text(await client.get(f"/checkout/{session.id}")))
    await client.post(
        f"/checkout/{session.id}/pay", form={"option": "devnet:ETH", "csrf_token": token}
    )
    page = await text(await client.get(f"/checkout/{session.id}"))
    assert "Pay with test wallet" not in page
    refused = await client.post(f"/checkout/{session.id}/test-wallet", form={"csrf_token": token})
    assert refused.status_code == 404


async def test_tx_hint_validates_input(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    token = csrf_of(await text(await client.get(f"/checkout/{session.id}")))
    await client.post(
        f"/checkout/{session.id}/pay", form={"option": "devnet:ETH", "csrf_token": token}
    )
    payment = await Payment.get(session_id=session.id)
    headers = {"X-CSRF-Token": token}
    bad = await client.post(
        f"/checkout/{session.id}/tx",
        json={"tx_hash": "nope", "payment_id": payment.id},
        headers=headers,
    )
    assert bad.status_code == 400
    unknown = await client.post(
        f"/checkout/{session.id}/tx",
        json={"tx_hash": "0x" + "a" * 64, "payment_id": "pay_other"},
        headers=headers,
    )
    assert unknown.status_code == 404
    ok = await client.post(
        f"/checkout/{session.id}/tx",
        json={"tx_hash": "0x" + "a" * 64, "payment_id": payment.id},
        headers=headers,
    )
    assert ok.status_code == 200


async def test_sse_stream_sends_status_and_closes_when_final(
    client: Client, session: CheckoutSession
) -> None:
    await CheckoutSession.filter(id=session.id).update(status="canceled")
    response = await client.get(f"/checkout/{session.id}/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    body = await text(response)
    assert "event: status\n" in body
    assert 'data: <p class="status" data-final="canceled">' in body
    assert body.rstrip().endswith("event: close\ndata: final")


async def test_package_markers_in_static_folders_are_not_served(client: Any) -> None:
    """Installed, the static folders are packages: their `__init__.py` is no asset."""
    assert (await client.get("/static/__init__.py")).status_code == 404
    assert (await client.get("/static/plugins/evm/__init__.py")).status_code == 404
    assert (await client.get("/static/checkout.css")).status_code == 200
