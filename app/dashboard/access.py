"""Signing in and out, the second factor, the test/live toggle and the account page."""

from __future__ import annotations

import base64

import segno
from quart import Response, request

from app.dashboard import signins, totp
from app.dashboard.signins import SignInOutcome
from app.dashboard.users import Role
from app.dashboard.web import (
    CODE_PATH,
    SIGN_IN_PATH,
    clear_session_cookie,
    client_ip,
    current,
    dashboard_blueprint,
    password_refusal,
    redirect_to,
    render,
    requires,
    safe_next,
    set_session_cookie,
    settings,
    signed_in,
)
from app.ratelimit import Limit, retry_after, take

access = dashboard_blueprint("dashboard_access")

# Password checks per client address, whichever e-mails they try: argon2 costs the server
# ~0.2 s of CPU each, and spraying one password over many accounts must not be free either.
SIGN_INS_PER_IP = Limit(burst=20, refill_seconds=15.0)


async def _sign_in_form(status: int = 200, error: str = "", email: str = "") -> Response:
    return await render(
        "dashboard/sign_in.html",
        status=status,
        error=error,
        email=email,
        next=safe_next(request.args.get("next")),
    )


@access.get("/sign-in")
async def sign_in_page() -> Response:
    signed = current()
    if signed is not None and signed.session.second_factor_done:
        return redirect_to("/dashboard/")
    return await _sign_in_form()


@access.post("/sign-in")
async def sign_in() -> Response:
    form = await request.form
    email = form.get("email", "")[:254]
    password = form.get("password", "")
    if not email or not password:
        return await _sign_in_form(400, "Enter your e-mail and password.", email)
    wait = await take(f"dashboard-sign-in:{client_ip()}", SIGN_INS_PER_IP)
    if wait:
        return await _sign_in_form(
            429, f"Too many sign-in attempts from here. Try again in {retry_after(wait)} s.", email
        )
    result = await signins.sign_in(email, password, client_ip())
    if result.outcome is SignInOutcome.WRONG:
        return await _sign_in_form(401, "Wrong e-mail or password.", email)
    if result.outcome is SignInOutcome.LOCKED:
        return await _sign_in_form(
            429,
            "Too many wrong passwords. This account is locked for "
            f"{result.wait_seconds} s; try again after that.",
            email,
        )
    assert result.token is not None
    previous = current()
    if previous is not None:  # a new sign-in replaces the browser's old session
        await signins.end_session(previous.session.id)
    target = (
        CODE_PATH if result.outcome is SignInOutcome.CODE_NEEDED else safe_next(form.get("next"))
    )
    response = redirect_to(target)
    set_session_cookie(response, result.token)
    return response


@access.route("/sign-in/code", methods=["GET", "POST"])
async def second_factor() -> Response:
    signed = current()
    if signed is None:
        return redirect_to(SIGN_IN_PATH)
    if signed.session.second_factor_done:
        return redirect_to("/dashboard/")
    if request.method == "GET":
        return await render("dashboard/sign_in_code.html", error="")
    code = (await request.form).get("code", "")[:64]
    if await signins.complete_second_factor(
        signed.session, signed.user, code, settings(), client_ip()
    ):
        return redirect_to("/dashboard/")
    return await render(
        "dashboard/sign_in_code.html",
        status=401,
        error="That code is not right (or was used already). Try the next one.",
    )


@access.post("/sign-out")
async def sign_out() -> Response:
    signed = current()
    if signed is not None:
        await signins.end_session(signed.session.id)
    response = redirect_to(SIGN_IN_PATH)
    clear_session_cookie(response)
    return response


@access.post("/sign-out-everywhere")
@requires(Role.VIEWER)
async def sign_out_everywhere() -> Response:
    signed = signed_in()
    await signins.end_all_sessions(signed.user, signed.ip)
    response = redirect_to(SIGN_IN_PATH)
    clear_session_cookie(response)
    return response


@access.post("/mode")
@requires(Role.VIEWER)
async def switch_mode() -> Response:
    form = await request.form
    await signins.set_livemode(signed_in().session, form.get("mode") == "live")
    return redirect_to(safe_next(form.get("next")))


# ----------------------------------------------------------------------------- account


def _qr_data_uri(uri: str) -> str:
    """The QR code as an SVG `data:` image (the CSP allows `img-src data:`)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=2))


async def _account_page(status: int = 200, **context: object) -> Response:
    user = signed_in().user
    setup_secret = None
    if user.totp_secret_sealed is None:
        setup_secret = str(context.pop("setup_secret", None) or totp.new_secret())
        uri = totp.provisioning_uri(setup_secret, user.email)
        context.update(setup_uri=uri, setup_qr=_qr_data_uri(uri))
    return await render(
        "dashboard/account.html",
        status=status,
        setup_secret=setup_secret,
        recovery_codes_left=len(user.recovery_code_hashes),
        **context,
    )


@access.get("/account")
@requires(Role.VIEWER)
async def account() -> Response:
    return await _account_page()


@access.post("/account/totp")
@requires(Role.VIEWER)
async def turn_on_totp() -> Response:
    if signed_in().user.totp_secret_sealed is not None:
        # Replacing the secret and recovery codes takes the password: turn it off first.
        return await _account_page(
            409,
            disable_error="Two-factor sign-in is already on: to set it up again, "
            "turn it off first (below, with your password).",
        )
    form = await request.form
    secret = form.get("secret", "")
    try:
        base64.b32decode(secret)
        valid_secret = len(secret) == 32
    except ValueError:
        valid_secret = False
    if not valid_secret:
        return await _account_page(400, totp_error="Start again: the setup key was damaged.")
    codes = await signins.enable_totp(signed_in().user, secret, form.get("code", ""), settings())
    if codes is None:
        return await _account_page(
            400,
            setup_secret=secret,
            totp_error="That code does not match. Check the app's clock and try the next code.",
        )
    return await _account_page(recovery_codes=codes)


@access.post("/account/totp/disable")
@requires(Role.VIEWER)
async def turn_off_totp() -> Response:
    refusal = await password_refusal((await request.form).get("password", ""))
    if refusal is not None:
        return await _account_page(400, disable_error=f"{refusal} Two-factor stays on.")
    await signins.disable_totp(signed_in().user)
    return await _account_page(notice="Two-factor sign-in is off.")
