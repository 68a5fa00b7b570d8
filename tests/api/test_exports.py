"""`GET /v1/payments` and `GET /v1/checkout/sessions` with `Accept: text/csv`: the whole
filtered range streamed as CSV, with the API's own filters; the JSON page unchanged."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import httpx
from quart import Quart
from quart.typing import TestClientProtocol as Client
from quart.wrappers.response import IterableBody

from app.exports import PAYMENT_COLUMNS, SESSION_COLUMNS
from tests.api.helpers import assert_error, session_body
from tests.conftest import LiveServer, MerchantKeys, new_merchant
from tests.records import make_many_payments, make_payment, make_refund, make_session

CSV = {"Accept": "text/csv"}


def rows_of(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


async def get_csv(client: Client, merchant: MerchantKeys, path: str, livemode: bool = False):
    response = await client.get(path, headers={**merchant.auth(livemode), **CSV})
    assert response.status_code == 200, await response.get_data()
    assert response.content_type == "text/csv; charset=utf-8"
    return response


async def test_payments_csv_is_the_whole_filtered_range(
    client: Client, merchant: MerchantKeys
) -> None:
    mid = merchant.merchant.id
    session = await make_session(mid, client_reference_id="=cmd|' /C calc'!A0")
    confirmed = [
        await make_payment(session, status="confirmed", amount_base_units=1_234_567 + n)
        for n in range(12)  # more than a JSON page's default 10
    ]
    await make_payment(session, status="expired")
    await make_refund(confirmed[0], 1_000_000, "succeeded")
    await make_payment(await make_session(mid, livemode=True), status="confirmed")
    other = await new_merchant("Other")
    await make_payment(await make_session(other.merchant.id), status="confirmed")

    response = await get_csv(client, merchant, "/v1/payments?status=confirmed")
    assert response.headers["Content-Disposition"] == 'attachment; filename="payments.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.get_data()
    assert body.startswith((",".join(PAYMENT_COLUMNS) + "\r\n").encode())
    rows = rows_of(body)
    assert {row["id"] for row in rows} == {p.id for p in confirmed}
    by_id = {row["id"]: row for row in rows}
    first = by_id[confirmed[0].id]
    assert first["amount_crypto"] == "1.234567"
    assert first["amount_refunded"] == "1"
    assert first["refund_status"] == "partial"
    assert first["amount_fiat"] == "50.00"
    assert first["client_reference_id"] == "'=cmd|' /C calc'!A0"


async def test_payments_csv_takes_the_api_filters(client: Client, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    first = await make_session(mid)
    second = await make_session(mid)
    old = await make_payment(first, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    recent = await make_payment(first, network="ethereum")
    await make_payment(second)
    response = await get_csv(client, merchant, f"/v1/payments?checkout_session={first.id}")
    assert {row["id"] for row in rows_of(await response.get_data())} == {old.id, recent.id}
    response = await get_csv(
        client,
        merchant,
        f"/v1/payments?checkout_session={first.id}&created[gte]=2026-06-01T00:00:00Z",
    )
    assert [row["id"] for row in rows_of(await response.get_data())] == [recent.id]
    response = await get_csv(client, merchant, "/v1/payments?network=ethereum")
    assert [row["id"] for row in rows_of(await response.get_data())] == [recent.id]


async def test_live_key_exports_live_objects(client: Client, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    await make_payment(await make_session(mid))
    live = await make_payment(await make_session(mid, livemode=True))
    response = await get_csv(client, merchant, "/v1/payments", livemode=True)
    assert [row["id"] for row in rows_of(await response.get_data())] == [live.id]


async def test_sessions_csv(client: Client, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    open_session = await make_session(mid, metadata={"order": "7"})
    await make_session(mid, status="expired")
    response = await get_csv(client, merchant, "/v1/checkout/sessions?status=open")
    assert response.headers["Content-Disposition"] == 'attachment; filename="checkout_sessions.csv"'
    body = await response.get_data()
    assert body.startswith((",".join(SESSION_COLUMNS) + "\r\n").encode())
    [row] = rows_of(body)
    assert row["id"] == open_session.id
    assert row["metadata"] == '{"order": "7"}'
    assert row["amount_fiat"] == "50.00"


async def test_json_stays_the_default(client: Client, merchant: MerchantKeys) -> None:
    await make_payment(await make_session(merchant.merchant.id))
    for accept in (None, "*/*", "application/json", "application/json, text/csv;q=0.5"):
        headers = merchant.auth() if accept is None else {**merchant.auth(), "Accept": accept}
        response = await client.get("/v1/payments", headers=headers)
        assert response.status_code == 200
        assert response.content_type == "application/json"
        assert (await response.get_json())["object"] == "list"


async def test_page_parameters_are_refused_with_csv(client: Client, merchant: MerchantKeys) -> None:
    for query in ("limit=5", "starting_after=pay_x", "ending_before=pay_x"):
        response = await client.get(f"/v1/payments?{query}", headers={**merchant.auth(), **CSV})
        await assert_error(
            response, 400, "invalid_request_error", "parameter_unsupported", query.split("=")[0]
        )
    response = await client.get("/v1/payments?status=paid", headers={**merchant.auth(), **CSV})
    assert response.status_code == 400
    response = await client.get("/v1/payments", headers=CSV)
    assert response.status_code == 401


async def test_the_answer_is_streamed(app: Quart, merchant: MerchantKeys) -> None:
    """The view returns a generator body, not a string built in memory."""
    await make_payment(await make_session(merchant.merchant.id))
    async with app.test_request_context("/v1/payments", headers={**merchant.auth(), **CSV}):
        await app.preprocess_request()
        response = await app.dispatch_request()
    assert isinstance(response.response, IterableBody)
    assert response.timeout is None
    chunks = [chunk async for chunk in response.response]
    assert chunks[0] == (",".join(PAYMENT_COLUMNS) + "\r\n").encode()
    assert len(rows_of(b"".join(chunks))) == 1


async def test_a_client_leaving_mid_export_leaves_the_server_serving(
    live_server: LiveServer, merchant: MerchantKeys
) -> None:
    """On the real server: clients that read the first rows of a large export and hang up
    leave nothing locked or leaked (the export's reads are single statements, no
    transaction): the next write, page and whole export are served at once."""
    await make_many_payments(merchant.merchant.id, 3000)
    headers = {**merchant.auth(), **CSV}
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as http:
        for _ in range(3):
            async with http.stream("GET", "/v1/payments", headers=headers) as response:
                assert response.status_code == 200
                async for _chunk in response.aiter_bytes():
                    break  # the header and the first rows, then hang up

        async def still_serving() -> None:
            created = await http.post(
                "/v1/checkout/sessions", json=session_body(), headers=merchant.auth()
            )
            assert created.status_code == 200, created.text
            page = await http.get("/v1/payments?limit=1", headers=merchant.auth())
            assert page.status_code == 200 and len(page.json()["data"]) == 1
            whole = await http.get("/v1/payments", headers=headers)
            assert whole.status_code == 200
            assert len(rows_of(whole.content)) == 3000

        await asyncio.wait_for(still_serving(), timeout=60)
