"""What every dashboard page shares: the signed-in user, roles, CSRF, headers, rendering.

Each area of the dashboard is its own blueprint made by `dashboard_blueprint` (listed in
`app.dashboard.BLUEPRINTS`), so every one of them loads the user the same way, refuses a form
without its CSRF token the same way and sends the same security headers (the checkout's:
CSP with per-response nonces, no framing, no referrer).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

from markupsafe import Markup
from quart import Blueprint, Response, current_app, g, render_template, request
from tortoise.models import Model

from app.audit import user_actor
from app.checkout.security import (
    CSRF_FIELD,
    apply_security_headers,
    csrf_ok,
    csrf_token,
    set_csrf_cookie,
)
from app.config import Settings
from app.dashboard import formatting
from app.dashboard.signins import SignInOutcome, confirm_password, load_session
from app.dashboard.users import Role, role_allows
from app.models import DashboardSession, User
from app.networks import Registry, current_registry
from app.proxies import client_address, trusted_networks

COOKIE = "kassa_dashboard"
COOKIE_PATH = "/dashboard"
SIGN_IN_PATH = "/dashboard/sign-in"
CODE_PATH = "/dashboard/sign-in/code"

P = ParamSpec("P")
M = TypeVar("M", bound=Model)


@dataclass(slots=True)
class SignedIn:
    """The user behind this request and the mode they look at."""

    session: DashboardSession
    user: User

    @property
    def merchant_id(self) -> str:
        return self.user.merchant_id

    @property
    def livemode(self) -> bool:
        """The test/live toggle: every query filters on it, so modes never mix."""
        return self.session.livemode

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def actor(self) -> str:
        return user_actor(self.user.id)

    @property
    def ip(self) -> str:
        return client_ip()

    def may(self, needed: Role) -> bool:
        return role_allows(self.user.role, needed)


def settings() -> Settings:
    value: Settings = current_app.config["KASSA_SETTINGS"]
    return value


def registry() -> Registry:
    """The server's networks (started with the app; the process-wide one otherwise)."""
    configured: Registry | None = current_app.config.get("KASSA_REGISTRY")
    return configured or current_registry()


def client_ip() -> str:
    proxies = current_app.config.get("KASSA_TRUSTED_PROXIES")
    if proxies is None:
        proxies = trusted_networks(settings().trusted_proxies)
        current_app.config["KASSA_TRUSTED_PROXIES"] = proxies
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), proxies)


def current() -> SignedIn | None:
    """The signed-in user (second factor done or not), or None."""
    signed: SignedIn | None = g.get("dashboard")
    return signed


def signed_in() -> SignedIn:
    """The signed-in user of a view behind `@requires`."""
    signed = current()
    if signed is None:
        raise RuntimeError("signed_in() outside a @requires view")
    return signed


def _csrf_binding() -> str:
    """Forms of a signed-in browser carry a token bound to its session; the sign-in form one
    bound to the browser's CSRF cookie alone."""
    signed = current()
    return f"dashboard:{signed.session.id}" if signed is not None else "dashboard:signed-out"


def csrf_value() -> str:
    return csrf_token(_csrf_binding())


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_value())


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect_to(url: str) -> Response:
    """A 303 (after a form) that htmx follows as a whole page too."""
    response = Response("", status=303, headers={"Location": url})
    if is_htmx():
        response.headers["HX-Redirect"] = url
    return response


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path only (no open redirect), and printable
    ASCII only (a CR, LF or other control character cannot go into a Location header)."""
    if (
        target
        and target.startswith("/dashboard")
        and "//" not in target
        and "\\" not in target
        and target.isascii()
        and target.isprintable()
        and " " not in target
    ):
        return target
    return "/dashboard/"


def id_fits(model: type[Model], object_id: str) -> bool:
    """Whether `object_id` could be one of `model`'s ids: printable and no longer than its
    primary key column (the database would refuse a longer value rather than answer "none")."""
    width: int | None = getattr(model._meta.pk, "max_length", None)
    return 0 < len(object_id) <= (width if width is not None else 64) and object_id.isprintable()


async def owned(model: type[M], object_id: str) -> M | None:
    """The signed-in user's merchant's `model` row with this id in the toggle's mode, or None
    (another merchant's, the other mode's, an impossible id: the same 404 page for all)."""
    if not id_fits(model, object_id):
        return None
    signed = signed_in()
    found: M | None = await model.get_or_none(
        id=object_id, merchant_id=signed.merchant_id, livemode=signed.livemode
    )
    return found


async def render(template: str, status: int = 200, **context: Any) -> Response:
    body = await render_template(template, signed=current(), **context)
    return Response(body, status=status, content_type="text/html; charset=utf-8")


async def error_page(status: int, message: str) -> Response:
    return await render("dashboard/error.html", status=status, status_code=status, message=message)


def requires(needed: Role) -> Callable[[Callable[P, Awaitable[Any]]], Callable[P, Awaitable[Any]]]:
    """A view for users whose role allows `needed`; others are sent to sign in, or refused."""

    def decorate(view: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[Any]]:
        @wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            signed = current()
            if signed is None:
                here = request.full_path.rstrip("?") if request.method == "GET" else ""
                suffix = f"?next={quote(here, safe='/')}" if here else ""
                return redirect_to(SIGN_IN_PATH + suffix)
            if not signed.session.second_factor_done:
                return redirect_to(CODE_PATH)
            if not signed.may(needed):
                return await error_page(
                    403, f"Your role ({signed.user.role}) may not do this; ask an owner."
                )
            return await view(*args, **kwargs)

        return guarded

    return decorate


# Shown-once secrets (a new API key, a webhook signing secret) travel from the form's POST to
# the page its 303 leads to (post-redirect-get: reloading that page creates no second key and
# rotates nothing again). They are never written to the database or put in a URL: only a
# random token is, naming the values kept here in this process's memory for
# SHOWN_ONCE_SECONDS, for the session that made them; the first GET takes them. Behind several
# server processes that GET may reach another one, whose page then says the secret is no
# longer shown (revoke and create again, or rotate again).
SHOWN_ONCE_SECONDS = 60
_shown_once: dict[str, tuple[float, str, dict[str, str]]] = {}


def keep_shown_once(values: dict[str, str]) -> str:
    """Keep `values` for the page after this POST; the token to put in its URL."""
    now = time.monotonic()
    for token, (expires, _, _) in list(_shown_once.items()):
        if expires <= now:
            del _shown_once[token]
    token = secrets.token_urlsafe(18)
    _shown_once[token] = (now + SHOWN_ONCE_SECONDS, signed_in().session.id, values)
    return token


def take_shown_once(token: str) -> dict[str, str] | None:
    """The values kept under `token` for this session, once; None when gone, expired, kept
    by another process or another session's."""
    kept = _shown_once.get(token)
    if kept is None or kept[1] != signed_in().session.id:
        return None
    del _shown_once[token]
    expires, _, values = kept
    return values if expires > time.monotonic() else None


async def password_refusal(password: str) -> str | None:
    """None when the signed-in user typed their password again right (for payout changes and
    turning two-factor off); otherwise why not. Wrong entries count as wrong sign-in
    passwords (`app.dashboard.signins`' lockout), and a locked user is refused with the wait."""
    signed = signed_in()
    result = await confirm_password(signed.user, password, signed.ip)
    if result.outcome is SignInOutcome.LOCKED:
        return (
            "Too many wrong passwords: your account is locked for "
            f"{result.wait_seconds} s; try again after that."
        )
    if result.outcome is SignInOutcome.WRONG:
        return "Wrong password."
    return None


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=request.scheme == "https" or settings().base_url.startswith("https://"),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH)


async def _load_signed_in() -> Response | None:
    g.dashboard = None
    token = request.cookies.get(COOKIE)
    if token:
        loaded = await load_session(token, settings())
        if loaded is not None:
            g.dashboard = SignedIn(*loaded)
    if request.method not in ("GET", "HEAD") and not await csrf_ok(_csrf_binding()):
        return await error_page(
            403, "This form has expired or did not come from this dashboard. Reload the page."
        )
    return None


async def _headers(response: Response) -> Response:
    set_csrf_cookie(response)
    if is_htmx():
        response.vary.add("HX-Request")
    return apply_security_headers(response)


def dashboard_blueprint(name: str) -> Blueprint:
    """A blueprint under /dashboard whose views share sign-in, CSRF checks and headers."""
    blueprint = Blueprint(name, __name__, url_prefix="/dashboard")
    blueprint.before_request(_load_signed_in)
    blueprint.after_request(_headers)
    blueprint.app_template_global("csrf_field")(csrf_field)
    blueprint.app_template_global("csrf_value")(csrf_value)
    for name, helper in formatting.TEMPLATE_GLOBALS.items():
        blueprint.app_template_global(name)(helper)
    return blueprint
