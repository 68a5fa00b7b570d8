"""Encryption at rest for secrets Kassa must be able to read back (webhook signing secrets).

AES-256-GCM under a key derived with HKDF-SHA256 from the operator's `KASSA_SECRET_KEY`.
Each ciphertext is bound to the row it belongs to (associated data), so a secret copied
into another endpoint's row does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12
_MIN_SECRET_KEY_CHARS = 16
_HKDF_INFO = b"kassa/secretbox/v1"

SECRET_KEY_HELP = (
    "KASSA_SECRET_KEY is not set (or shorter than 16 characters). Kassa encrypts webhook "
    "signing secrets with it. Set it to a long random value and keep it stable, e.g. "
    "`export KASSA_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')` "
    'or `secret_key = "..."` in kassa.toml; changing it later makes stored secrets unreadable.'
)


class SecretKeyMissing(Exception):
    """The operator has not configured `secret_key`."""

    def __init__(self) -> None:
        super().__init__(SECRET_KEY_HELP)


class SecretUnreadable(Exception):
    """A ciphertext does not decrypt: wrong operator key, wrong row, or tampered data."""


class SecretBox:
    """Seals and opens short secrets with a key derived from the operator secret."""

    def __init__(self, operator_secret: str) -> None:
        if len(operator_secret) < _MIN_SECRET_KEY_CHARS:
            raise SecretKeyMissing()
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            operator_secret.encode("utf-8")
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> str:
        """`v1:<base64(nonce || ciphertext || tag)>`; `context` names the owning row."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def open(self, token: str, context: str) -> str:
        version, _, payload = token.partition(":")
        if version != _VERSION:
            raise SecretUnreadable(f"unknown secretbox version {version!r}")
        try:
            raw = base64.b64decode(payload, validate=True)
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8")
            )
        except (ValueError, InvalidTag):
            raise SecretUnreadable(
                "stored secret does not decrypt (was KASSA_SECRET_KEY changed?)"
            ) from None
        return plain.decode("utf-8")
