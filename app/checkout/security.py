"""Checkout page safety: CSP nonces, security headers, CSRF tokens, rate limits.

The checkout URL is the only capability a shopper holds; everything here keeps another site
from acting with it (CSRF, framing), keeps injected markup from running (CSP with per-response
nonces, no inline code), and keeps one client from creating payments or asking prices without bound.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from quart import Response, current_app, g, request

from app.config import Settings
from app.ratelimit import Limit, take

log = logging.getLogger("kassa.checkout")

CSRF_COOKIE = "kassa_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# The whole origin: the hosted page also calls `POST /v1/checkout/sessions/{id}/payments`
# with its token (app/api/payments.py). The cookie alone authorises nothing.
_CSRF_COOKIE_PATH = "/"


def csp_nonce() -> str:
    """The nonce of this response's CSP, created on first use."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        g.csp_nonce = nonce
    return nonce


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def content_security_policy(nonce: str, redirect_targets: tuple[str, ...] = ()) -> str:
    """Only this origin's files and nonce-tagged elements run; nothing may frame the page.

    `form-action` also governs where a form's redirect may lead (Chromium checks the whole
    redirect chain), so the merchant's success and cancel origins are added for the no-JS
    Cancel form whose 303 goes to `cancel_url`.
    """
    form_targets = " ".join(
        sorted({origin for url in redirect_targets if (origin := _origin(url))})
    )
    directives = [
        "default-src 'none'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        f"form-action 'self'{' ' + form_targets if form_targets else ''}",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def apply_security_headers(response: Response) -> Response:
    """Headers every checkout response carries (pages, fragments, streams, errors)."""
    redirect_targets: tuple[str, ...] = g.get("csp_redirect_targets", ())
    response.headers["Content-Security-Policy"] = content_security_policy(
        csp_nonce(), redirect_targets
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The URL holds the session capability: never send it to another site as a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# ----------------------------------------------------------------------------- CSRF


_ephemeral_key = secrets.token_bytes(32)
_warned_ephemeral = False


def _csrf_key(settings: Settings) -> bytes:
    """Derived from the operator secret; a per-process random key when none is configured."""
    global _warned_ephemeral
    secret = settings.secret_key.get_secret_value()
    if secret:
        return hashlib.sha256(b"kassa-checkout-csrf\x00" + secret.encode("utf-8")).digest()
    if not _warned_ephemeral:
        _warned_ephemeral = True
        log.warning(
            "KASSA_SECRET_KEY is not set: checkout CSRF tokens use a per-process key and stop "
            "matching across processes and restarts"
        )
    return _ephemeral_key


def _settings() -> Settings:
    settings: Settings = current_app.config["KASSA_SETTINGS"]
    return settings


def csrf_browser_id() -> str:
    """The browser's random CSRF cookie value; a new one is set on this response if absent."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if (
        16 <= len(existing) <= 64
        and existing.isascii()
        and existing.replace("-", "").replace("_", "").isalnum()
    ):
        return existing
    fresh: str | None = g.get("csrf_new_cookie")
    if fresh is None:
        fresh = secrets.token_urlsafe(24)
        g.csrf_new_cookie = fresh
    return fresh


def csrf_token(session_id: str) -> str:
    """Double-submit token bound to the session and the browser cookie, keyed by the secret."""
    message = f"{session_id}\x00{csrf_browser_id()}".encode()
    return hmac.new(_csrf_key(_settings()), message, hashlib.sha256).hexdigest()


def set_csrf_cookie(response: Response) -> None:
    fresh = g.get("csrf_new_cookie")
    if fresh is None:
        return
    response.set_cookie(
        CSRF_COOKIE,
        fresh,
        path=_CSRF_COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.scheme == "https",
    )


def _same_origin_request() -> bool:
    """Refuse what browsers label cross-site; requests without the labels pass on to the token."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        # Behind a TLS-terminating proxy the request looks like plain http: the configured
        # public URL is the origin shoppers actually use.
        return origin in (f"{request.scheme}://{request.host}", _origin(_settings().base_url))
    return True


async def csrf_ok(session_id: str) -> bool:
    """True when the request carries this browser's token for this session."""
    if not _same_origin_request():
        return False
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form
        sent = form.get(CSRF_FIELD)
    if not sent:
        return False
    return hmac.compare_digest(sent, csrf_token(session_id))


# ----------------------------------------------------------------------------- rate limits


@dataclass(frozen=True, slots=True)
class PaymentRateLimits:
    """Payment creation limits per checkout session and per client IP.

    The buckets live in the database (`app.ratelimit`), so they hold however many
    processes serve the checkout.
    """

    per_session: Limit
    per_ip: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentRateLimits:
        return cls(
            per_session=Limit(
                settings.checkout_payments_per_session_burst,
                settings.checkout_payments_per_session_refill_seconds,
            ),
            per_ip=Limit(
                settings.checkout_payments_per_ip_burst,
                settings.checkout_payments_per_ip_refill_seconds,
            ),
        )

    async def check(self, session_id: str, client_ip: str) -> float:
        """0.0 when allowed, else the seconds to wait (the `Retry-After`).

        The session's own budget is spent first: one session pressing Pay without end runs
        out of its own tokens and leaves the address's budget, which every shopper behind the
        same NAT or proxy shares, untouched.
        """
        wait = await take(f"pay-session:{session_id}", self.per_session)
        if wait:
            return wait
        return await take(f"pay-ip:{client_ip}", self.per_ip)


def preview_limit(settings: Settings) -> Limit:
    """Price previews per client IP: each one may ask the price sources."""
    return Limit(
        settings.checkout_previews_per_ip_burst, settings.checkout_previews_per_ip_refill_seconds
    )
