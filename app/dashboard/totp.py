"""RFC 6238 time-based one-time passwords (SHA-1, 6 digits, 30 s), and recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
# A code of the previous or next step is accepted too: phone clocks drift.
DRIFT_STEPS = 1
RECOVERY_CODES = 10


def new_secret() -> str:
    """160 random bits in base32, as authenticator apps expect (RFC 4226 §4)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def code_at(secret: str, step: int) -> str:
    """The code for time step `step` (RFC 4226 HOTP with the step as counter)."""
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def matching_step(secret: str, code: str, after_step: int, now: float | None = None) -> int | None:
    """The step whose code `code` is, within the allowed drift and later than `after_step`
    (a code is never accepted twice), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    step = current_step(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if candidate > after_step and hmac.compare_digest(code_at(secret, candidate), code):
            return candidate
    return None


def provisioning_uri(secret: str, account: str, issuer: str = "Kassa") -> str:
    """The `otpauth://` URI authenticator apps scan."""
    query = urlencode(
        {"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{quote(issuer)}:{quote(account)}?{query}"


def new_recovery_codes() -> list[str]:
    """Ten single-use codes such as `k7f3-9qxa-2mdp`, shown once."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        chars = "".join(secrets.choice(alphabet) for _ in range(12))
        codes.append(f"{chars[:4]}-{chars[4:8]}-{chars[8:]}")
    return codes


def hash_recovery_code(code: str) -> str:
    normalised = code.strip().lower().replace(" ", "").replace("-", "")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
