"""The lists' Export CSV: `/dashboard/exports/payments.csv` and `sessions.csv`.

Signed in (viewers too), the toggle's mode and the merchant only, the lists' filters and
search, exact decimals, defused cells, a streamed attachment, an audit entry per download, and
a clear 400 page for a bad filter.
"""

from __future__ import annotations

import csv
import io
import re
from html import unescape

from quart import Quart
from quart.wrappers.response import IterableBody

from app.dashboard.users import Role
from app.exports import PAYMENT_COLUMNS, SESSION_COLUMNS
from app.models import AuditLog
from tests.conftest import new_merchant
from tests.dashboard.conftest import DashboardClient, SignedInClient
from tests.records import make_payment, make_refund, make_session

_FILENAME = re.compile(
    r'^attachment; filename="(payments|sessions)-(test|live)-\d{4}-\d\d-\d\d\.csv"$'
)


def rows_of(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


async def download(client: DashboardClient, path: str) -> list[dict[str, str]]:
    response = await client.get(path)
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.content_type == "text/csv; charset=utf-8"
    assert _FILENAME.match(response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    return rows_of(await response.get_data())


async def test_exports_need_a_sign_in(app: Quart) -> None:
    for path in ("/dashboard/exports/payments.csv", "/dashboard/exports/sessions.csv"):
        response = await DashboardClient(app).get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/dashboard/sign-in?next=")


async def test_a_viewer_exports_the_merchants_payments_in_the_mode(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    session = await make_session(
        merchant_id, client_reference_id="@evil", customer_email="a@example.com"
    )
    payment = await make_payment(
        session,
        crypto_currency="ETH",
        token_address=None,
        decimals=18,
        amount_base_units=12_345_678_901_234_567_891,  # 12.345678901234567891 ETH
        status="confirmed",
    )
    await make_refund(payment, 10**18, "succeeded")
    live = await make_payment(await make_session(merchant_id, livemode=True))
    await make_payment(await make_session((await new_merchant("Other")).merchant.id))

    response = await client.get("/dashboard/exports/payments.csv")
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="payments-test-'
    )
    [row] = rows_of(await response.get_data())
    assert list(row) == list(PAYMENT_COLUMNS)
    assert row["id"] == payment.id
    assert row["amount_crypto"] == "12.345678901234567891"
    assert row["amount_base_units"] == "12345678901234567891"
    assert row["amount_fiat"] == "50.00"
    assert row["amount_refunded"] == "1"
    assert row["refund_status"] == "partial"
    assert row["client_reference_id"] == "'@evil"
    # The toggle switches the export too.
    await client.post_form("/dashboard/mode", {"mode": "live"})
    assert [r["id"] for r in await download(client, "/dashboard/exports/payments.csv")] == [live.id]


async def test_the_lists_filters_select_the_rows(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    wanted = await make_session(merchant_id, metadata={"order": "A-1"}, status="completed")
    paid = await make_payment(wanted, status="confirmed", tx_hash="0xbeef")
    await make_payment(wanted, status="expired")
    other = await make_session(merchant_id, status="completed")
    await make_payment(other, status="confirmed")

    rows = await download(client, "/dashboard/exports/payments.csv?query=A-1&status=confirmed")
    assert [r["id"] for r in rows] == [paid.id]
    rows = await download(client, "/dashboard/exports/sessions.csv?query=0xBEEF&token=usdc")
    assert [r["id"] for r in rows] == [wanted.id]
    assert list(rows[0]) == list(SESSION_COLUMNS)
    assert rows[0]["payments_count"] == "2"
    assert rows[0]["metadata"] == '{"order": "A-1"}'
    # Empty form fields are no filter, as the list's GET form sends them.
    rows = await download(
        client,
        "/dashboard/exports/sessions.csv?status=&network=&token=&created_from=&created_to=&query=",
    )
    assert {r["id"] for r in rows} == {wanted.id, other.id}


async def test_the_lists_export_link_downloads_what_the_list_shows(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.VIEWER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    shown = await make_session(merchant_id, client_reference_id="order-9")
    await make_session(merchant_id, client_reference_id="order-10")
    html = await client.page("/dashboard/sessions?query=order-9")
    link = re.search(r'href="(/dashboard/exports/sessions\.csv[^"]*)"', html)
    assert link, "the list has no Export CSV link"
    rows = await download(client, unescape(link.group(1)))
    assert [r["id"] for r in rows] == [shown.id]


async def test_a_bad_filter_is_a_400_page_naming_it(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    response = await client.get("/dashboard/exports/payments.csv?created_from=last+week")
    assert response.status_code == 400
    assert response.content_type.startswith("text/html")
    html = await response.get_data(as_text=True)
    assert "created_from" in html and "not a date" in html
    response = await client.get("/dashboard/exports/sessions.csv?status=confirmed")
    assert response.status_code == 400


async def test_each_download_is_audited(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    user = client.user  # type: ignore[attr-defined]
    await download(client, "/dashboard/exports/payments.csv?status=confirmed")
    await download(client, "/dashboard/exports/sessions.csv")
    entries = await AuditLog.filter(merchant_id=user.merchant_id).order_by("id")
    exported = [e for e in entries if e.action.endswith(".exported")]
    assert [e.action for e in exported] == ["payments.exported", "checkout_sessions.exported"]
    assert exported[0].actor == f"user:{user.id}"
    assert exported[0].details == {"livemode": False, "filters": {"status": "confirmed"}}


async def test_the_file_is_streamed(app: Quart, signed_in: SignedInClient) -> None:
    """The view answers a generator body (rows are read as they are sent), not a string."""
    client = await signed_in(Role.VIEWER)
    await make_payment(await make_session(client.user.merchant_id))  # type: ignore[attr-defined]
    cookie = client.client.cookie_jar  # the signed-in browser's cookies
    header = "; ".join(f"{c.name}={c.value}" for c in cookie)
    async with app.test_request_context(
        "/dashboard/exports/payments.csv", headers={"Cookie": header}
    ):
        response = await app.full_dispatch_request()
    assert isinstance(response.response, IterableBody)
    assert response.timeout is None
    chunks = [chunk async for chunk in response.response]
    assert len(rows_of(b"".join(chunks))) == 1
