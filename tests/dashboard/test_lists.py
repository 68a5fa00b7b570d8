"""The sessions and payments lists: scoped to merchant and mode, filters and search through
app.search, cursor pages with Next/Previous, htmx partials, export links; and the overview."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

from quart import Quart

from app.dashboard.users import Role
from app.states import utcnow
from tests.conftest import new_merchant
from tests.dashboard.conftest import DashboardClient, MakeUser, SignedInClient
from tests.records import make_payment, make_session

_SESSION_LINK = re.compile(r'href="/dashboard/sessions/(cs_[A-Za-z0-9_]+)"')
_PAYMENT_LINK = re.compile(r'href="/dashboard/payments/(pay_[A-Za-z0-9_]+)"')
_NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
_PREVIOUS = re.compile(r'<a href="([^"]+)" rel="prev"')


def session_ids(html: str) -> list[str]:
    return list(dict.fromkeys(_SESSION_LINK.findall(html)))


async def test_lists_need_a_sign_in(app: Quart) -> None:
    for path in ("/dashboard/sessions", "/dashboard/payments"):
        response = await DashboardClient(app).get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/dashboard/sign-in?next=")


async def test_sessions_list_shows_only_this_merchant_and_mode(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    now = utcnow()
    older = await make_session(merchant_id, created_at=now - dt.timedelta(hours=2))
    newer = await make_session(merchant_id, created_at=now - dt.timedelta(hours=1))
    live = await make_session(merchant_id, livemode=True)
    other = await make_session((await new_merchant("Other")).merchant.id)
    html = await client.page("/dashboard/sessions")
    assert session_ids(html) == [newer.id, older.id]  # newest first
    assert live.id not in html and other.id not in html
    assert "50.00 EUR" in html
    # The toggle switches the world: live data only.
    await client.post_form("/dashboard/mode", {"mode": "live"})
    html = await client.page("/dashboard/sessions")
    assert session_ids(html) == [live.id]


async def test_search_finds_a_session_by_reference_email_metadata_or_tx_hash(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    wanted = await make_session(
        merchant_id,
        client_reference_id="order-4711",
        customer_email="ada@shop.example",
        metadata={"cart": "c-99"},
    )
    payment = await make_payment(wanted, tx_hash="0x" + "ab" * 20)
    await make_session(merchant_id, client_reference_id="order-4712")
    html = await client.page("/dashboard/sessions")
    assert '<label for="query">Search' in html and 'type="search"' in html
    for text in ("order-4711", "ADA@shop.example", "c-99", "0x" + "AB" * 20, payment.id):
        found = await client.page(f"/dashboard/sessions?query={text}")
        assert session_ids(found) == [wanted.id], text
    payments = await client.page("/dashboard/payments?query=order-4711")
    assert _PAYMENT_LINK.findall(payments) == [payment.id]


async def test_search_by_a_full_length_evm_tx_hash(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    session = await make_session(client.user.merchant_id)  # type: ignore[attr-defined]
    await make_payment(session, tx_hash="0x" + "cd" * 32)
    found = await client.page("/dashboard/sessions?query=0x" + "cd" * 32)
    assert session_ids(found) == [session.id]


async def test_filters_by_status_network_token_and_dates(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    now = utcnow()
    done = await make_session(merchant_id, status="completed")
    await make_payment(done, status="confirmed", network="ethereum", crypto_currency="ETH")
    old = await make_session(merchant_id, created_at=now - dt.timedelta(days=40))
    assert session_ids(await client.page("/dashboard/sessions?status=completed")) == [done.id]
    assert session_ids(await client.page("/dashboard/sessions?network=ethereum")) == [done.id]
    assert session_ids(await client.page("/dashboard/sessions?token=eth")) == [done.id]
    since = (now - dt.timedelta(days=1)).date().isoformat()
    recent = await client.page(f"/dashboard/sessions?created_from={since}&status=")
    assert old.id not in session_ids(recent) and done.id in session_ids(recent)
    until = (now - dt.timedelta(days=30)).date().isoformat()
    assert session_ids(await client.page(f"/dashboard/sessions?created_to={until}")) == [old.id]
    payments = await client.page("/dashboard/payments?status=confirmed&network=ethereum")
    assert len(_PAYMENT_LINK.findall(payments)) == 1
    # The form keeps what was chosen.
    assert '<option value="completed" selected>' in await client.page(
        "/dashboard/sessions?status=completed"
    )


async def test_a_bad_filter_is_a_form_error_not_a_500(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    response = await client.get("/dashboard/payments?status=paid")
    assert response.status_code == 400
    html = unescape(await response.get_data(as_text=True))
    assert "Unknown status 'paid'" in html and 'role="alert"' in html
    response = await client.get("/dashboard/sessions?created_from=yesterday")
    assert response.status_code == 400
    assert 'id="created_from"' in (html := await response.get_data(as_text=True))
    assert 'aria-invalid="true"' in html


async def test_pages_with_next_and_previous_keep_the_filters(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    now = utcnow()
    made = [
        await make_session(
            merchant_id, created_at=now - dt.timedelta(minutes=n), client_reference_id="bulk"
        )
        for n in range(30)
    ]
    await make_session(merchant_id, client_reference_id="other")
    newest_first = [s.id for s in made]
    first = await client.page("/dashboard/sessions?query=bulk")
    assert session_ids(first) == newest_first[:25]
    assert not _PREVIOUS.search(first)
    next_url = unescape(_NEXT.findall(first)[0])
    assert "query=bulk" in next_url and f"starting_after={newest_first[24]}" in next_url
    second = await client.page(next_url)
    assert session_ids(second) == newest_first[25:]
    assert not _NEXT.search(second)
    back = unescape(_PREVIOUS.findall(second)[0])
    again = await client.page(back)
    assert session_ids(again) == newest_first[:25]
    assert _NEXT.search(again) and not _PREVIOUS.search(again)
    # A cursor that is not one of this merchant's sessions starts again, with a notice.
    foreign = await make_session((await new_merchant("Other")).merchant.id)
    html = await client.page(f"/dashboard/sessions?starting_after={foreign.id}")
    assert "no longer there" in html and session_ids(html)[0] != foreign.id
    for cursor in ("x" * 60, "x" * 70):  # longer than an id; longer than the API allows
        html = await client.page(f"/dashboard/sessions?ending_before={cursor}")
        assert "no longer there" in html


async def test_htmx_gets_the_table_alone_and_the_export_link_has_the_filters(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    session = await make_session(merchant_id, client_reference_id="order-1")
    response = await client.get(
        "/dashboard/sessions?query=order-1&status=open",
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and session.id in html
    assert 'href="/dashboard/exports/sessions.csv?status=open&amp;query=order-1"' in html
    page = await client.page("/dashboard/payments")
    assert 'href="/dashboard/exports/payments.csv"' in page
    assert 'hx-get="/dashboard/payments"' in page and 'method="get"' in page


async def test_overview_counts_and_volume_per_day(
    signed_in: SignedInClient, make_user: MakeUser
) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    now = utcnow()
    yesterday = now - dt.timedelta(days=1)
    for _ in range(2):
        await make_session(merchant_id, created_at=yesterday)
    paid = await make_session(merchant_id, status="completed", updated_at=now)
    await make_payment(paid, status="confirmed", confirmed_at=now, amount_fiat_cents=1234)
    usd = await make_session(merchant_id, status="completed", fiat_currency="USD")
    await make_payment(usd, status="confirmed", confirmed_at=now, amount_fiat_cents=500)
    await make_session(merchant_id, created_at=now - dt.timedelta(days=45))  # out of range
    await make_session(merchant_id, livemode=True)  # the other mode
    other = await make_session((await new_merchant("Other")).merchant.id, status="completed")
    await make_payment(other, status="confirmed", confirmed_at=now, amount_fiat_cents=999)
    html = await client.page("/dashboard/")
    totals = re.findall(r'<span class="stat-value">([^<]*)', html)
    assert totals[:3] == ["4", "2", "2"]
    assert "12.34 EUR" in html and "5.00 USD" in html and "9.99" not in html
    # Server-drawn charts with a title and a description, and a table of the same numbers.
    assert html.count('role="img"') == 5  # 3 counts + a volume chart per currency
    assert '<title id="chart-created-title">Sessions created</title>' in html
    assert f"highest 2 on {yesterday.date().isoformat()}" in html
    assert f"<title>{now.date().isoformat()}: 12.34 EUR</title>" in html
    assert "<script" not in html.split("</head>")[1]
    row = re.search(
        rf"<th scope=\"row\">{yesterday.date().isoformat()}</th>\s*"
        r"<td class=\"num\">(\d+)</td>",
        html,
    )
    assert row is not None and row.group(1) == "2"


async def test_overview_of_a_merchant_with_nothing_yet(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    html = await client.page("/dashboard/")
    assert re.findall(r'<span class="stat-value">([^<]*)', html) == ["0", "0", "0", "0"]
    assert html.count('role="img"') == 3 and "none in this period" in html
