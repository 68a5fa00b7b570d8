"""Issue 14 review fixes across the dashboard: one lookup by id (impossible ids are 404 pages,
not 500s), far-off dates as filter errors, TOTP not replaced without the password, password
re-entries counted like sign-ins, printable `next` paths only, one amount formatter."""

from __future__ import annotations

import re
from html import unescape

import pytest
from quart import Quart

from app.dashboard import totp, web
from app.dashboard.formatting import crypto, fiat, token_amount
from app.dashboard.refunds import PAGE_SIZE as REFUNDS_PER_PAGE
from app.dashboard.users import Role
from app.dashboard.web import safe_next
from app.models import ApiKey, AuditLog, Merchant, Refund, User, WebhookEndpoint
from app.search import FilterError, PaymentFilters
from tests.conftest import MerchantKeys
from tests.dashboard.conftest import PASSWORD, DashboardClient, MakeUser, SignedInClient
from tests.dashboard.test_sign_in import turn_on_totp
from tests.records import make_payment, make_refund, make_session
from tests.webhooks.conftest import clean_endpoints, private_targets  # noqa: F401 - fixtures

LONG_REFUND_ID = "re_" + "x" * 38  # 41 characters: one more than the refunds' id column
LONG_PAYMENT_ID = "pay_" + "x" * 45  # 49: one more than the payments' id column


async def test_ids_no_object_can_have_are_404_pages(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    for path in [
        f"/dashboard/refunds/{LONG_REFUND_ID}",
        f"/dashboard/payments/{LONG_PAYMENT_ID}/refunds",
        f"/dashboard/payments/{LONG_PAYMENT_ID}",
        "/dashboard/sessions/cs_" + "x" * 46,
        "/dashboard/webhooks/we_" + "x" * 38,
        "/dashboard/refunds/re_%0A",  # not printable
    ]:
        response = await owner.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "No such" in await response.get_data(as_text=True)
    for path in [
        f"/dashboard/refunds/{LONG_REFUND_ID}/cancel",
        f"/dashboard/payments/{LONG_PAYMENT_ID}/refunds",
        "/dashboard/keys/key_" + "x" * 37 + "/revoke",
        "/dashboard/webhooks/we_" + "x" * 38 + "/disable",
        "/dashboard/deliveries/whd_" + "x" * 37 + "/resend",
    ]:
        response = await owner.post_form(path, {"amount": "1", "reason": ""})
        assert response.status_code == 404, (path, response.status_code)


async def test_list_cursors_no_object_can_have_start_from_the_newest(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    viewer = await signed_in(Role.VIEWER)
    payment = await make_payment(await make_session(merchant.merchant.id), status="confirmed")
    refund = await make_refund(payment, 1_000_000, "pending_address")
    other = await Merchant.create(id="mer_other_review", name="Other", payout_addresses={})
    foreign = await make_refund(
        await make_payment(await make_session(other.id), status="confirmed"), 1, "canceled"
    )
    # Too long, unprintable, another merchant's: no cursor; the newest of one's own.
    for cursor in (LONG_REFUND_ID, "re_%07", foreign.id):
        for name in ("starting_after", "ending_before"):
            listed = await viewer.page(f"/dashboard/refunds?{name}={cursor}")
            assert refund.id in listed and "showing the newest instead" in listed
    for cursor in ("starting_after", "ending_before"):
        page = await viewer.page(f"/dashboard/payments?{cursor}={LONG_PAYMENT_ID}")
        assert payment.id in page
    owner = await signed_in(Role.OWNER)
    for before in ("%C2%B2", "9" * 30, "-1"):  # "²" is str.isdigit() but not int(); too big
        assert (await owner.get(f"/dashboard/audit?before={before}")).status_code == 200
    assert await Refund.filter(id=refund.id).exists()


def test_far_off_times_are_filter_errors_naming_the_parameter() -> None:
    for name, value in [
        ("created_from", "0001-01-01T00:00+05:00"),
        ("created_to", "9999-12-31T23:00-05:00"),
    ]:
        try:
            PaymentFilters.parse({name: value})
        except FilterError as problem:
            assert problem.param == name and "9999" in problem.message
        else:
            raise AssertionError(f"{name}={value} was accepted")


async def test_far_off_times_on_lists_and_exports_are_400_pages(
    signed_in: SignedInClient,
) -> None:
    client = await signed_in(Role.VIEWER)
    for path in [
        "/dashboard/payments?created_from=0001-01-01T00:00%2B05:00",
        "/dashboard/sessions?created_to=9999-12-31T23:00-05:00",
        "/dashboard/exports/payments.csv?created_to=9999-12-31T23:00-05:00",
    ]:
        response = await client.get(path)
        assert response.status_code == 400, path
        assert "outside the years" in unescape(await response.get_data(as_text=True))


async def test_totp_cannot_be_replaced_without_turning_it_off(
    app: Quart, make_user: MakeUser
) -> None:
    user = await make_user()
    client = DashboardClient(app)
    assert (await client.sign_in(user.email)).status_code == 303
    await turn_on_totp(client)
    before = await User.get(id=user.id)
    assert before.totp_secret_sealed is not None
    secret = totp.new_secret()
    again = await client.post_form(
        "/dashboard/account/totp",
        {"secret": secret, "code": totp.code_at(secret, totp.current_step())},
    )
    assert again.status_code == 409
    assert "already on" in await again.get_data(as_text=True)
    after = await User.get(id=user.id)
    assert after.totp_secret_sealed == before.totp_secret_sealed
    assert after.recovery_code_hashes == before.recovery_code_hashes


async def test_wrong_password_reentries_count_like_sign_ins(
    app: Quart, signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    user = owner.user  # type: ignore[attr-defined]
    await turn_on_totp(owner)

    async def change(password: str) -> tuple[int, str]:
        form = {"network": "devnet", "address": "", "password": password}
        response = await owner.post_form("/dashboard/payouts", form, "/dashboard/payouts")
        return response.status_code, await response.get_data(as_text=True)

    for _ in range(4):
        status, html = await change("wrong password!!")
        assert status == 400 and "Wrong password." in html
    status, html = await change("wrong password!!")
    assert status == 400 and "locked for 30 s" in html
    # Locked: even the right password is refused, here and at sign-in.
    status, html = await change(PASSWORD)
    assert status == 400 and "locked for" in html
    assert "devnet" in (await Merchant.get(id=merchant.merchant.id)).payout_addresses
    assert (await DashboardClient(app).sign_in(user.email)).status_code == 429
    failed = await AuditLog.filter(object_id=user.id, action="user.sign_in_failed")
    assert len(failed) == 5 and all(e.details["password_reentry"] for e in failed)
    off = await owner.post_form("/dashboard/account/totp/disable", {"password": PASSWORD})
    assert "locked for" in await off.get_data(as_text=True)
    assert (await User.get(id=user.id)).totp_secret_sealed is not None


async def test_a_right_reentry_clears_the_count(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    user = owner.user  # type: ignore[attr-defined]
    for password in ("wrong password!!", "wrong password!!", PASSWORD):
        await owner.post_form(
            "/dashboard/payouts",
            {"network": "devnet", "address": "", "password": password},
            "/dashboard/payouts",
        )
    assert (await User.get(id=user.id)).failed_signins == 0
    assert "devnet" not in (await Merchant.get(id=merchant.merchant.id)).payout_addresses


def test_safe_next_takes_printable_dashboard_paths_only() -> None:
    assert safe_next("/dashboard/payments?status=confirmed") == (
        "/dashboard/payments?status=confirmed"
    )
    for bad in (
        "/dashboard/\r\nSet-Cookie: x=1",
        "/dashboard/\n",
        "/dashboard/\x00",
        "/dashboard/\u2028",
        "/dashboard/ x",
        "//evil.example",
        "https://evil.example/dashboard",
    ):
        assert safe_next(bad) == "/dashboard/", repr(bad)


async def test_control_characters_in_next_redirect_home(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    client = DashboardClient(app)
    page = await client.get("/dashboard/sign-in?next=/dashboard/%0D%0AX-Evil:%201")
    assert page.status_code == 200
    response = await client.post_form(
        "/dashboard/sign-in",
        {"email": user.email, "password": PASSWORD, "next": "/dashboard/\r\nX-Evil: 1"},
        "/dashboard/sign-in",
    )
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"
    switched = await client.post_form(
        "/dashboard/mode", {"mode": "live", "next": "/dashboard/payments\n"}
    )
    assert switched.status_code == 303 and switched.headers["Location"] == "/dashboard/"
    assert "X-Evil" not in switched.headers


async def test_one_amount_formatter(merchant: MerchantKeys) -> None:
    assert fiat(1234, "eur") == "12.34 EUR"
    assert fiat(1234, "JPY") == "1234 JPY"
    payment = await make_payment(await make_session(merchant.merchant.id))
    assert crypto(payment) == "50 USDC"
    assert token_amount(12_500_000, payment) == "12.5 USDC"
    refund = await make_refund(payment, 12_500_000, "pending_address")
    assert crypto(refund) == "12.5 USDC"


@pytest.mark.usefixtures("private_targets", "clean_endpoints")
async def test_shown_once_secrets_come_after_a_redirect(signed_in: SignedInClient) -> None:
    """Create key, add endpoint and rotate answer with a 303: reloading the page they lead to
    sends no form again (no second key, no second rotation) and shows the secret no more."""
    client = await signed_in(Role.DEVELOPER)
    merchant_id = client.user.merchant_id  # type: ignore[attr-defined]
    keys_before = await ApiKey.filter(merchant_id=merchant_id).count()
    created = await client.post_form("/dashboard/keys", {}, "/dashboard/keys")
    assert created.status_code == 303
    location = created.headers["Location"]
    assert location.startswith("/dashboard/keys?shown=")
    first = await client.page(location)
    secret = first.split('<code id="new-secret">')[1].split("<")[0]
    assert secret.startswith("sk_test_") and secret not in location
    again = await client.page(location)  # a reload
    assert secret not in again and "no longer shown" in again
    assert await ApiKey.filter(merchant_id=merchant_id).count() == keys_before + 1

    # Another browser (session) cannot take it, even with the link.
    made = await client.post_form("/dashboard/keys", {}, "/dashboard/keys")
    other = await signed_in(Role.DEVELOPER)
    assert "new-secret" not in await other.page(made.headers["Location"])
    assert "new-secret" in await client.page(made.headers["Location"])

    added = await client.post_form(
        "/dashboard/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": "*", "description": ""},
        "/dashboard/webhooks",
    )
    assert added.status_code == 303
    shown = await client.page(added.headers["Location"])
    assert "whsec_" in shown and "Endpoint created" in shown
    assert "whsec_" not in await client.page(added.headers["Location"])
    endpoint = await WebhookEndpoint.get(merchant_id=merchant_id)

    path = f"/dashboard/webhooks/{endpoint.id}"
    rotated = await client.post_form(f"{path}/rotate", {"expires_in": "0"}, path)
    assert rotated.status_code == 303
    shown = await client.page(rotated.headers["Location"])
    assert 'id="new-secret">whsec_' in shown and "None: the old secret stops now" in shown
    reloaded = await client.page(rotated.headers["Location"])
    assert "new-secret" not in reloaded and "rotate again" in reloaded
    await endpoint.refresh_from_db()
    assert len(endpoint.signing_secrets) == 1


async def test_shown_once_values_expire(signed_in: SignedInClient, app: Quart) -> None:
    client = await signed_in(Role.DEVELOPER)
    created = await client.post_form("/dashboard/keys", {}, "/dashboard/keys")
    token = created.headers["Location"].split("shown=")[1]
    expires, session_id, values = web._shown_once[token]
    web._shown_once[token] = (expires - web.SHOWN_ONCE_SECONDS - 1, session_id, values)
    assert "no longer shown" in await client.page(created.headers["Location"])


async def test_the_refunds_list_pages_like_the_other_lists(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    payment = await make_payment(await make_session(merchant.merchant.id), status="confirmed")
    made = [await make_refund(payment, 1, "canceled") for _ in range(REFUNDS_PER_PAGE + 1)]
    newest_first = sorted(made, key=lambda r: (r.created_at, r.id), reverse=True)
    viewer = await signed_in(Role.VIEWER)
    first = await viewer.page("/dashboard/refunds?status=canceled")
    assert newest_first[-1].id not in first and 'rel="prev"' not in first
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older is not None
    second = await viewer.page(unescape(older.group(1)))
    assert newest_first[-1].id in second and newest_first[0].id not in second
    assert "status=canceled" in older.group(1) and 'rel="next"' not in second
    newer = re.search(r'href="([^"]+)" rel="prev"', second)
    assert newer is not None
    assert newest_first[0].id in await viewer.page(unescape(newer.group(1)))
