"""Standard Webhooks signing: the headers a delivery carries, signing secrets, rotation.

`webhook-id` is the event id, `webhook-timestamp` the sender's Unix time, and
`webhook-signature` one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per active secret.
Secrets (`whsec_` + base64) are stored sealed with the operator's KASSA_SECRET_KEY.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from app.config import Settings
from app.models import WebhookEndpoint
from app.secretbox import SecretBox

SECRET_BYTES = 32  # Standard Webhooks: 24–64 random bytes
MAX_ROTATION_OVERLAP = dt.timedelta(hours=24)


def _version() -> str:
    try:
        return metadata.version("kassa")
    except metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"Kassa-Webhooks/{_version()} (+https://standardwebhooks.com)"


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _secret_key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(message_id: str, timestamp: int, body: bytes, signing_secrets: Iterable[str]) -> str:
    """The `webhook-signature` header: one `v1,<base64 HMAC-SHA256>` per active secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(
            hmac.new(_secret_key_bytes(secret), signed, hashlib.sha256).digest()
        ).decode("ascii")
        for secret in signing_secrets
    )


def signature_headers(
    message_id: str, body: bytes, signing_secrets: Iterable[str], timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(message_id, ts, body, signing_secrets),
        "content-type": "application/json",
    }


def secret_box(settings: Settings) -> SecretBox:
    """Raises SecretKeyMissing (with setup instructions) when KASSA_SECRET_KEY is unset."""
    return SecretBox(settings.secret_key.get_secret_value())


def seal_secret(box: SecretBox, endpoint_id: str, secret: str) -> dict[str, Any]:
    return {"ciphertext": box.seal(secret, endpoint_id), "expires_at": None}


def active_secrets(box: SecretBox, endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """Newest first; an old secret signs alongside the new one until its overlap ends."""
    current = int(now.timestamp())
    return [
        box.open(entry["ciphertext"], endpoint.id)
        for entry in endpoint.signing_secrets
        if entry.get("expires_at") is None or entry["expires_at"] > current
    ]


def rotated_secrets(
    box: SecretBox,
    endpoint: WebhookEndpoint,
    new_secret: str,
    overlap: dt.timedelta,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The new secret first; the previous current one kept until now + overlap."""
    current = int(now.timestamp())
    kept: list[dict[str, Any]] = [seal_secret(box, endpoint.id, new_secret)]
    if overlap.total_seconds() > 0:
        until = int((now + min(overlap, MAX_ROTATION_OVERLAP)).timestamp())
        for entry in endpoint.signing_secrets:
            expires = entry.get("expires_at")
            if expires is None:
                kept.append({"ciphertext": entry["ciphertext"], "expires_at": until})
            elif expires > current:
                kept.append(entry)
    return kept
