"""Encryption at rest for secrets Kassa must be able to read back (webhook signing secrets).

AES-256-GCM under a key derived with HKDF-SHA256 from the operator's `KASSA_SECRET_KEY`.
Each ciphertext is bound to the row it belongs to (associated data), so a secret copied
into another endpoint's row does not decrypt.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from app.db import sqlite_file

if TYPE_CHECKING:
    from app.config import Settings

_VERSION = "v1"
_NONCE_BYTES = 12
_MIN_SECRET_KEY_CHARS = 16
_HKDF_INFO = b"kassa/secretbox/v1"

SECRET_KEY_HELP = (
    "KASSA_SECRET_KEY is not set (or shorter than 16 characters). Kassa encrypts webhook "
    "signing secrets with it. Set it to a long random value and keep it stable, e.g. "
    "`export KASSA_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')` "
    'or `secret_key = "..."` in kassa.toml; changing it later makes stored secrets unreadable. '
    "With SQLite (or `secret_key_file` set), `kassa migrate` creates one in a file instead."
)
# Where `kassa migrate` keeps a generated secret beside a SQLite database (and `kassa dev`
# beside its kassa.db): one folder for the state that must survive with the database.
SECRET_KEY_FILE = Path(".kassa") / "secret_key"


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


# ----------------------------------------------------------------------------- the key's file


def secret_key_path(settings: Settings) -> Path | None:
    """Where the operator secret is kept when `secret_key` is empty: `secret_key_file`, else
    `.kassa/secret_key` beside a SQLite database. None for PostgreSQL without the setting:
    there every host must share one key, which a file created on one of them is not."""
    if settings.secret_key_file is not None:
        return settings.secret_key_file
    database = sqlite_file(settings.database_url)
    return None if database is None else database.parent / SECRET_KEY_FILE


def read_or_create_secret_key(path: Path) -> tuple[str, bool]:
    """The secret kept in `path`, first written there (random, mode 0600 from its first byte)
    when the file does not exist; and whether it was created now."""
    created = False
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # O_EXCL: of two processes racing here, one writes and the other reads its secret.
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(handle, "w") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
            created = True
    return path.read_text().strip(), created


def create_secret_key_file(settings: Settings) -> Path | None:
    """For `kassa migrate`: without `secret_key`, make sure its file exists; the path when this
    call created it, else None (a key is set, the file exists, or PostgreSQL has no file)."""
    path = secret_key_path(settings)
    if settings.secret_key.get_secret_value() or path is None:
        return None
    _, created = read_or_create_secret_key(path)
    return path if created else None


def with_secret_key(settings: Settings) -> Settings:
    """`settings` with `secret_key` read from its file when the setting is empty."""
    path = secret_key_path(settings)
    if settings.secret_key.get_secret_value() or path is None or not path.is_file():
        return settings
    return settings.model_copy(update={"secret_key": SecretStr(path.read_text().strip())})
