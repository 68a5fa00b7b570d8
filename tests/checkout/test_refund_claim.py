"""The shopper's refund claim page without a chain: the checkout's headers (CSP with a nonce,
no framing, no referrer), a labelled form, the session's language, CSRF, unknown links, and
a network that does not answer (the address is kept for a retry, nothing changes)."""

from __future__ import annotations

import re

from quart.typing import TestClientProtocol as Client

from app.models import Event, Payment, Refund
from app.networks import current_registry
from app.refunds import create_refund
from app.states import RefundStatus
from tests.conftest import MerchantKeys
from tests.records import make_payment, make_session

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ADDRESS = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"


async def new_refund(merchant: MerchantKeys, locale: str = "auto") -> Refund:
    session = await make_session(merchant.merchant.id, status="completed", locale=locale)
    payment: Payment = await make_payment(session, status="confirmed")
    return await create_refund(
        payment, registry=current_registry(), actor="cli", reason="Damaged in transit"
    )


async def test_the_page_asks_for_the_address_safely(client: Client, merchant: MerchantKeys) -> None:
    refund = await new_refund(merchant)
    response = await client.get(f"/refund/{refund.claim_token}")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert '<label for="refund-address">Refund address</label>' in html
    assert 'id="refund-address" name="address"' in html
    assert "50 USDC" in html and "Damaged in transit" in html and "Acme Shop" in html
    assert "<script" not in html  # a plain form: nothing to run
    assert "kassa_csrf" in response.headers.get("Set-Cookie", "")


async def test_the_page_speaks_the_sessions_language(
    client: Client, merchant: MerchantKeys
) -> None:
    refund = await new_refund(merchant, locale="de")
    html = await (await client.get(f"/refund/{refund.claim_token}")).get_data(as_text=True)
    assert 'lang="de"' in html and "Erstattungsadresse" in html
    auto = await new_refund(merchant)
    french = await client.get(
        f"/refund/{auto.claim_token}", headers={"Accept-Language": "fr-CH,fr;q=0.9"}
    )
    assert "Adresse de remboursement" in await french.get_data(as_text=True)


async def test_unknown_links_are_404(client: Client) -> None:
    for token in ("nothing-here", "A" * 32, "a" * 200, "%00"):
        assert (await client.get(f"/refund/{token}")).status_code == 404


async def test_forms_need_the_pages_token(client: Client, merchant: MerchantKeys) -> None:
    refund = await new_refund(merchant)
    path = f"/refund/{refund.claim_token}"
    await client.get(path)  # the CSRF cookie
    forged = await client.post(path, form={"address": ADDRESS, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert "This form expired" in await forged.get_data(as_text=True)
    other = await new_refund(merchant)  # a token of another refund's page does not fit
    page = await (await client.get(f"/refund/{other.claim_token}")).get_data(as_text=True)
    token = _CSRF.search(page)
    assert token is not None
    crossed = await client.post(path, form={"address": ADDRESS, "csrf_token": token.group(1)})
    assert crossed.status_code == 403
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PENDING_ADDRESS


async def test_bad_address_and_unreachable_network(client: Client, merchant: MerchantKeys) -> None:
    refund = await new_refund(merchant)
    path = f"/refund/{refund.claim_token}"
    token = _CSRF.search(await (await client.get(path)).get_data(as_text=True))
    assert token is not None
    empty = await client.post(path, form={"address": "  ", "csrf_token": token.group(1)})
    assert empty.status_code == 400
    assert "Enter the address" in await empty.get_data(as_text=True)
    bad = await client.post(path, form={"address": "0xnope", "csrf_token": token.group(1)})
    html = await bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'role="alert"' in html and 'aria-invalid="true"' in html
    # The test app's devnet node is a closed port: the shopper is asked to retry, their
    # address stays in the field, and the refund still waits for it.
    down = await client.post(path, form={"address": ADDRESS, "csrf_token": token.group(1)})
    html = await down.get_data(as_text=True)
    assert down.status_code == 503 and "cannot be reached right now" in html
    assert f'value="{ADDRESS}"' in html
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PENDING_ADDRESS
    assert [e.type for e in await Event.filter(object_id=refund.id)] == ["refund.created"]
