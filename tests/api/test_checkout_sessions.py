"""Create, retrieve, list, expire; auth; test/live separation; events; the expiry loop."""

from __future__ import annotations

import base64
import datetime as dt

from app.keys import revoke_key
from app.models import ApiKey, CheckoutSession, Event
from app.sessions import expire_due_sessions
from app.states import SessionStatus
from tests.api.helpers import assert_error, create_session, session_body, unix_time
from tests.conftest import MerchantKeys, new_merchant

INVALID = "invalid_request_error"


async def test_session_object_shape(client, merchant: MerchantKeys) -> None:
    session = await create_session(
        client,
        merchant,
        customer_email="a@b.example",
        client_reference_id="order-7",
        metadata={"order_id": "7"},
        expires_in=3600,
    )
    assert session["id"].startswith("cs_test_") and len(session["id"]) >= 8 + 22
    assert session["object"] == "checkout.session"
    assert session["livemode"] is False
    assert session["status"] == "open"
    assert session["payment_id"] is None
    assert session["checkout_url"].endswith(f"/checkout/{session['id']}")
    assert unix_time(session["expires_at"]) - unix_time(session["created_at"]) == 3600
    assert session["customer_email"] == "a@b.example"
    assert session["client_reference_id"] == "order-7"
    assert session["metadata"] == {"order_id": "7"}


async def test_retrieve_is_scoped_to_merchant_and_mode(client, merchant: MerchantKeys) -> None:
    test_session = await create_session(client, merchant)
    live_session = await create_session(client, merchant, livemode=True)
    assert live_session["id"].startswith("cs_live_") and live_session["livemode"] is True
    other = await new_merchant("Other")

    ok = await client.get(f"/v1/checkout/sessions/{test_session['id']}", headers=merchant.auth())
    assert ok.status_code == 200
    for headers, session_id in [
        (merchant.auth(livemode=True), test_session["id"]),
        (merchant.auth(livemode=False), live_session["id"]),
        (other.auth(), test_session["id"]),
    ]:
        response = await client.get(f"/v1/checkout/sessions/{session_id}", headers=headers)
        await assert_error(response, 404, INVALID, "resource_missing", "id")
        expire = await client.post(f"/v1/checkout/sessions/{session_id}/expire", headers=headers)
        await assert_error(expire, 404, INVALID, "resource_missing", "id")

    test_list = await (
        await client.get("/v1/checkout/sessions?limit=100", headers=merchant.auth())
    ).get_json()
    live_list = await (
        await client.get("/v1/checkout/sessions?limit=100", headers=merchant.auth(True))
    ).get_json()
    assert {s["id"] for s in test_list["data"]} == {test_session["id"]}
    assert {s["id"] for s in live_list["data"]} == {live_session["id"]}


async def test_authentication(client, merchant: MerchantKeys) -> None:
    missing = await client.get("/v1/checkout/sessions")
    await assert_error(missing, 401, "authentication_error", "api_key_missing", None)

    bodies = []
    for header in [
        "Bearer sk_test_doesnotexist0000000000000000",
        "Bearer garbage",
        "Basic !!!notbase64",
        "Token " + merchant.test_secret,
    ]:
        response = await client.get("/v1/checkout/sessions", headers={"Authorization": header})
        bodies.append(
            await assert_error(response, 401, "authentication_error", "api_key_invalid", None)
        )
    key = await ApiKey.get(
        secret_sha256__isnull=False, merchant_id=merchant.merchant.id, livemode=False
    )
    assert await revoke_key(key.id, actor="cli")
    revoked = await client.get("/v1/checkout/sessions", headers=merchant.auth())
    bodies.append(await assert_error(revoked, 401, "authentication_error", "api_key_invalid", None))
    assert all(body == bodies[0] for body in bodies), "unknown/revoked/malformed must look alike"


async def test_basic_auth_with_key_as_user(client, merchant: MerchantKeys) -> None:
    token = base64.b64encode(f"{merchant.test_secret}:".encode()).decode()
    response = await client.get(
        "/v1/checkout/sessions", headers={"Authorization": f"Basic {token}"}
    )
    assert response.status_code == 200


async def test_list_pagination_is_newest_first_and_stable(client, merchant: MerchantKeys) -> None:
    created = [await create_session(client, merchant) for _ in range(7)]
    # Equal timestamps must still page stably: give four sessions the same created_at.
    same = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    await CheckoutSession.filter(id__in=[s["id"] for s in created[2:6]]).update(created_at=same)

    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/checkout/sessions?limit=2" + (f"&starting_after={cursor}" if cursor else "")
        page = await (await client.get(url, headers=merchant.auth())).get_json()
        assert page["object"] == "list" and page["url"] == "/v1/checkout/sessions"
        seen += [s["id"] for s in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert sorted(seen) == sorted(s["id"] for s in created)
    assert len(seen) == len(set(seen)) == 7
    # The four equal-timestamp sessions are the newest (2030) and come first.
    assert set(seen[:4]) == {s["id"] for s in created[2:6]}

    # ending_before walks back to the newer page.
    page = await (
        await client.get(
            f"/v1/checkout/sessions?limit=2&ending_before={seen[4]}", headers=merchant.auth()
        )
    ).get_json()
    assert [s["id"] for s in page["data"]] == seen[2:4]
    assert page["has_more"] is True


async def test_list_filters(client, merchant: MerchantKeys) -> None:
    first = await create_session(client, merchant)
    second = await create_session(client, merchant)
    await client.post(f"/v1/checkout/sessions/{first['id']}/expire", headers=merchant.auth())

    async def ids(query: str) -> set[str]:
        response = await client.get(f"/v1/checkout/sessions?{query}", headers=merchant.auth())
        assert response.status_code == 200, await response.get_json()
        return {s["id"] for s in (await response.get_json())["data"]}

    assert await ids("status=expired") == {first["id"]}
    assert await ids("status=open") == {second["id"]}
    created = unix_time(first["created_at"])
    assert first["id"] in await ids(f"created[gte]={created}&created[lte]={created}")
    assert first["id"] not in await ids(f"created[gt]={created + 1}")
    assert first["id"] not in await ids(f"created[lt]={created}")
    assert first["id"] in await ids(f"created={created}")


async def test_list_parameter_errors(client, merchant: MerchantKeys) -> None:
    async def get(query: str):
        return await client.get(f"/v1/checkout/sessions?{query}", headers=merchant.auth())

    await assert_error(await get("limit=0"), 400, INVALID, "parameter_out_of_range", "limit")
    await assert_error(await get("limit=101"), 400, INVALID, "parameter_out_of_range", "limit")
    await assert_error(await get("limit=x"), 400, INVALID, "parameter_invalid_integer", "limit")
    await assert_error(await get("status=paid"), 400, INVALID, "parameter_invalid_value", "status")
    await assert_error(
        await get("starting_after=cs_test_nope"), 400, INVALID, "resource_missing", "starting_after"
    )
    await assert_error(
        await get("starting_after=a&ending_before=b"),
        400,
        INVALID,
        "parameters_exclusive",
        "ending_before",
    )
    await assert_error(
        await get("created[gte]=-5"), 400, INVALID, "parameter_out_of_range", "created[gte]"
    )
    await assert_error(
        await get("created[gte]=99999999999999999999"),
        400,
        INVALID,
        "parameter_out_of_range",
        "created[gte]",
    )
    await assert_error(await get("colour=red"), 400, INVALID, "parameter_unknown", "colour")


async def test_expire_only_from_open_and_writes_event(client, merchant: MerchantKeys) -> None:
    session = await create_session(client, merchant)
    response = await client.post(
        f"/v1/checkout/sessions/{session['id']}/expire", headers=merchant.auth()
    )
    expired = await response.get_json()
    assert response.status_code == 200 and expired["status"] == "expired"
    events = await Event.filter(object_id=session["id"]).all()
    assert [e.type for e in events] == ["checkout.session.expired"]
    assert events[0].data["object"]["status"] == "expired"
    assert events[0].request_id == response.headers["Request-Id"]

    again = await client.post(
        f"/v1/checkout/sessions/{session['id']}/expire", headers=merchant.auth()
    )
    await assert_error(again, 400, INVALID, "checkout_session_not_open", None)
    assert await Event.filter(object_id=session["id"]).count() == 1


async def test_background_loop_expires_due_sessions(client, merchant: MerchantKeys) -> None:
    due = await create_session(client, merchant)
    fresh = await create_session(client, merchant)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await CheckoutSession.filter(id=due["id"]).update(expires_at=past)
    while await expire_due_sessions():
        pass
    assert (await CheckoutSession.get(id=due["id"])).status == SessionStatus.EXPIRED
    assert (await CheckoutSession.get(id=fresh["id"])).status == SessionStatus.OPEN
    assert await Event.filter(object_id=due["id"], type="checkout.session.expired").count() == 1


async def test_session_ids_are_unguessable(client, merchant: MerchantKeys) -> None:
    ids = {(await create_session(client, merchant))["id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i.removeprefix("cs_test_")) >= 22 for i in ids)  # ≥ 128 bits of base62


async def test_openapi_document(client) -> None:
    response = await client.get("/v1/openapi.json")
    document = await response.get_json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/checkout/sessions" in document["paths"]
    create = document["components"]["schemas"]["CheckoutSessionCreate"]
    assert create["additionalProperties"] is False
    assert set(session_body()) <= set(create["properties"])
