"""Dashboard sign-in: argon2id passwords, backoff, TOTP, server-side sessions, CSRF, roles."""

from __future__ import annotations

import datetime as dt

from quart import Quart

from app.dashboard import totp
from app.dashboard.signins import lock_seconds, token_digest
from app.dashboard.users import Role
from app.models import AuditLog, DashboardSession, User
from tests.dashboard.conftest import PASSWORD, DashboardClient, MakeUser, SignedInClient, csrf_of


async def test_password_is_stored_as_argon2id(make_user: MakeUser) -> None:
    user = await make_user()
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in user.password_hash


async def test_sign_in_page_has_labelled_fields(app: Quart) -> None:
    html = await DashboardClient(app).page("/dashboard/sign-in")
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html
    assert ">Sign in</button>" in html


async def test_pages_need_a_sign_in(app: Quart) -> None:
    response = await DashboardClient(app).get("/dashboard/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/sign-in?next=/dashboard/"


async def test_sign_in_sets_a_safe_cookie_and_opens_the_dashboard(
    app: Quart, make_user: MakeUser
) -> None:
    user = await make_user()
    client = DashboardClient(app)
    response = await client.sign_in(user.email.upper())  # e-mails compare case-blind
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"
    cookie = response.headers["Set-Cookie"]
    assert "kassa_dashboard=" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    html = await client.page("/dashboard/")
    assert user.email in html and "Test data" in html
    headers = (await client.get("/dashboard/")).headers
    assert "nonce-" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    # The session is a row keyed by the token's hash; the token itself is stored nowhere.
    token = cookie.split("kassa_dashboard=")[1].split(";")[0]
    assert await DashboardSession.filter(id=token_digest(token)).exists()
    assert not await DashboardSession.filter(id=token).exists()


async def test_wrong_password_says_nothing_about_which_part(
    app: Quart, make_user: MakeUser
) -> None:
    user = await make_user()
    client = DashboardClient(app)
    wrong_password = await client.sign_in(user.email, "not the password at all")
    unknown_user = await client.sign_in("nobody@shop.example", PASSWORD)
    for response in (wrong_password, unknown_user):
        assert response.status_code == 401
        assert "Wrong e-mail or password." in await response.get_data(as_text=True)


def test_lock_grows_after_four_free_failures() -> None:
    assert [lock_seconds(n) for n in range(1, 9)] == [0, 0, 0, 0, 30, 60, 120, 240]
    assert lock_seconds(50) == 3600


async def test_five_wrong_passwords_lock_the_account(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    client = DashboardClient(app)
    for _ in range(4):
        assert (await client.sign_in(user.email, "wrong password!!")).status_code == 401
    fifth = await client.sign_in(user.email, "wrong password!!")
    assert fifth.status_code == 429
    assert "locked for 30 s" in await fifth.get_data(as_text=True)
    # Even the right password is refused while locked: guessing gains nothing from the lock.
    right = await client.sign_in(user.email, PASSWORD)
    assert right.status_code == 429
    assert await AuditLog.filter(object_id=user.id, action="user.sign_in_failed").count() == 5
    # Once the lock passes, the right password works and the count starts again.
    await User.filter(id=user.id).update(locked_until=dt.datetime.now(dt.UTC))
    assert (await client.sign_in(user.email, PASSWORD)).status_code == 303
    assert (await User.get(id=user.id)).failed_signins == 0


async def test_a_form_without_its_csrf_token_is_refused(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    client = DashboardClient(app)
    await client.page("/dashboard/sign-in")
    response = await client.client.post(
        "/dashboard/sign-in", form={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 403
    signed = await make_signed_in(app, user)
    refused = await signed.client.post("/dashboard/mode", form={"mode": "live"})
    assert refused.status_code == 403
    # A token of another browser's session does not do either.
    other = await make_signed_in(app, user)
    token = csrf_of(await other.page("/dashboard/account"))
    refused = await signed.client.post(
        "/dashboard/mode", form={"mode": "live", "csrf_token": token}
    )
    assert refused.status_code == 403


async def make_signed_in(app: Quart, user: User) -> DashboardClient:
    client = DashboardClient(app)
    assert (await client.sign_in(user.email)).status_code == 303
    return client


async def test_cross_site_posts_are_refused(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    client = await make_signed_in(app, user)
    token = csrf_of(await client.page("/dashboard/account"))
    response = await client.client.post(
        "/dashboard/mode",
        form={"mode": "live", "csrf_token": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


async def test_sign_out_ends_the_session_on_the_server(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    client = await make_signed_in(app, user)
    response = await client.post_form("/dashboard/sign-out", {})
    assert response.status_code == 303
    assert not await DashboardSession.filter(user_id=user.id).exists()
    assert (await client.get("/dashboard/")).status_code == 303


async def test_sign_out_everywhere(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    laptop = await make_signed_in(app, user)
    phone = await make_signed_in(app, user)
    assert await DashboardSession.filter(user_id=user.id).count() == 2
    await laptop.post_form("/dashboard/sign-out-everywhere", {})
    assert not await DashboardSession.filter(user_id=user.id).exists()
    assert (await phone.get("/dashboard/")).status_code == 303


async def test_idle_and_absolute_timeouts(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    idle = await make_signed_in(app, user)
    await DashboardSession.filter(user_id=user.id).update(
        last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    )
    assert (await idle.get("/dashboard/")).status_code == 303
    old = await make_signed_in(app, user)
    await DashboardSession.filter(user_id=user.id).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=13)
    )
    assert (await old.get("/dashboard/")).status_code == 303
    assert not await DashboardSession.filter(user_id=user.id).exists()


async def test_test_and_live_toggle(app: Quart, signed_in: SignedInClient) -> None:
    client = await signed_in(Role.VIEWER)
    assert "View live data" in await client.page("/dashboard/")
    response = await client.post_form("/dashboard/mode", {"mode": "live", "next": "/dashboard/"})
    assert response.status_code == 303
    html = await client.page("/dashboard/")
    assert "Live data" in html and "View test data" in html


async def test_next_never_leaves_the_dashboard(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    for target in ("https://evil.example/", "//evil.example/dashboard", "/dashboard//evil"):
        client = DashboardClient(app)
        token = csrf_of(await client.page("/dashboard/sign-in"))
        response = await client.client.post(
            "/dashboard/sign-in",
            form={"email": user.email, "password": PASSWORD, "next": target, "csrf_token": token},
        )
        assert response.headers["Location"] == "/dashboard/"


# ----------------------------------------------------------------------------- TOTP


async def turn_on_totp(client: DashboardClient) -> tuple[str, list[str]]:
    html = await client.page("/dashboard/account")
    secret = html.split('id="totp-secret">')[1].split("<")[0]
    step = totp.current_step()
    response = await client.post_form(
        "/dashboard/account/totp", {"secret": secret, "code": totp.code_at(secret, step)}
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "Recovery codes — shown once." in body
    codes = [part.split("</code>")[0] for part in body.split("<li><code>")[1:]]
    assert len(codes) == 10
    return secret, codes


async def test_totp_sign_in(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    client = await make_signed_in(app, user)
    secret, _ = await turn_on_totp(client)
    stored = await User.get(id=user.id)
    assert stored.totp_secret_sealed and secret not in stored.totp_secret_sealed  # encrypted

    fresh = DashboardClient(app)
    response = await fresh.sign_in(user.email)
    assert response.headers["Location"] == "/dashboard/sign-in/code"
    # The password alone opens nothing.
    assert (await fresh.get("/dashboard/")).headers["Location"] == "/dashboard/sign-in/code"
    wrong = await fresh.post_form(
        "/dashboard/sign-in/code", {"code": "000000"}, "/dashboard/sign-in/code"
    )
    assert wrong.status_code == 401
    # The code the setup used is spent; the next step's is accepted once.
    code = totp.code_at(secret, totp.current_step() + 1)
    right = await fresh.post_form(
        "/dashboard/sign-in/code", {"code": code}, "/dashboard/sign-in/code"
    )
    assert right.status_code == 303 and right.headers["Location"] == "/dashboard/"
    assert (await fresh.get("/dashboard/")).status_code == 200

    replay = DashboardClient(app)
    await replay.sign_in(user.email)
    again = await replay.post_form(
        "/dashboard/sign-in/code", {"code": code}, "/dashboard/sign-in/code"
    )
    assert again.status_code == 401


async def test_recovery_codes_work_once(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    _, codes = await turn_on_totp(await make_signed_in(app, user))
    first = DashboardClient(app)
    await first.sign_in(user.email)
    used = await first.post_form(
        "/dashboard/sign-in/code", {"code": codes[0].upper()}, "/dashboard/sign-in/code"
    )
    assert used.status_code == 303
    second = DashboardClient(app)
    await second.sign_in(user.email)
    reused = await second.post_form(
        "/dashboard/sign-in/code", {"code": codes[0]}, "/dashboard/sign-in/code"
    )
    assert reused.status_code == 401
    assert len((await User.get(id=user.id)).recovery_code_hashes) == 9


async def test_turning_totp_off_needs_the_password(app: Quart, make_user: MakeUser) -> None:
    user = await make_user()
    client = await make_signed_in(app, user)
    await turn_on_totp(client)
    refused = await client.post_form(
        "/dashboard/account/totp/disable", {"password": "nope nope nope"}
    )
    assert refused.status_code == 400
    assert (await User.get(id=user.id)).totp_secret_sealed is not None
    done = await client.post_form("/dashboard/account/totp/disable", {"password": PASSWORD})
    assert done.status_code == 200
    assert (await User.get(id=user.id)).totp_secret_sealed is None


def test_rfc_6238_vectors() -> None:
    # RFC 6238 appendix B (SHA-1 seed), last six digits of the eight-digit values.
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_at(secret, 59 // 30) == "287082"
    assert totp.code_at(secret, 1111111109 // 30) == "081804"
    assert totp.code_at(secret, 2000000000 // 30) == "279037"
    assert totp.matching_step(secret, "279037", 0, now=2000000000) == 2000000000 // 30
    assert totp.matching_step(secret, "279037", 2000000000 // 30, now=2000000000) is None
