"""Logging setup with a filter that keeps secrets out of every log line.

Secrets are recognised by where they come from, not by what they look like: a transaction or
block hash has the same shape as a private key, and an operator needs hashes in the logs. So
the filter blanks the values Kassa read as secrets (`keep_out_of_logs`: the operator secret,
the network plugins' keys and node URLs), Kassa's own prefixed secrets (API keys, webhook
secrets), what follows a secret's name (`Authorization:`, `signer_key=`, `password=` …) and the
parts of URLs that carry credentials.
"""

from __future__ import annotations

import logging
import re

# Each pattern matches a secret (or the secret part of a value) that must never reach a log.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(sk_(?:test|live))_[A-Za-z0-9]+"), r"\1_[redacted]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_[redacted]"),
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:bearer|basic)?\s*\S+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    # A value given under a secret's name: `signer_key=0x…`, `KASSA_SECRET_KEY: …`,
    # `'password': '…'` (settings dumps, validation errors, environment listings).
    (
        re.compile(
            r"(?i)\b(\w*(?:secret|password|passwd|private_?key|signer_key|sweeper_key|"
            r"deployer_key|api_?key)\w*['\"]?\s*[:=]\s*['\"]?)[^\s'\",;)}]+"
        ),
        r"\1[redacted]",
    ),
    # URLs: credentials (any scheme: postgres:// too), query strings and long path segments
    # (RPC providers put keys there).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)://[^/\s@]+@"), r"\1://[redacted]@"),
    (re.compile(r"(?i)\b((?:https?|wss?)://[^\s?#]+)\?[^\s#]*"), r"\1?[redacted]"),
    (
        re.compile(r"(?i)\b((?:https?|wss?)://[^\s/]+(?:/[^\s/]*)*?)/[A-Za-z0-9_-]{20,}"),
        r"\1/[redacted]",
    ),
)

# Shorter values would blank ordinary words; every secret Kassa reads is longer.
_MIN_SECRET_CHARS = 8
_known_secrets: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def keep_out_of_logs(*values: str | None) -> None:
    """Redact these values wherever they appear in a log line from now on, in any letter case;
    a 0x-prefixed key also without its prefix. For secrets read from settings or key files."""
    global _known_pattern
    fresh = set()
    for value in values:
        value = (value or "").strip()
        if len(value) >= _MIN_SECRET_CHARS:
            fresh.add(value)
            if value[:2].lower() == "0x" and len(value) - 2 >= _MIN_SECRET_CHARS:
                fresh.add(value[2:])
    if fresh <= _known_secrets:
        return
    _known_secrets.update(fresh)
    # Longest first, so a key's 0x-prefixed spelling is blanked whole.
    alternatives = sorted(_known_secrets, key=len, reverse=True)
    _known_pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)


def redact(text: str) -> str:
    """Replace every known secret and every secret part of `text`."""
    if _known_pattern is not None:
        text = _known_pattern.sub("[redacted]", text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the record once and redacts it, so no handler ever sees the raw secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr with secrets redacted, for our loggers and the servers we run."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries' routine chatter (connection set-up and shutdown) only when debugging.
    quiet = root.level > logging.DEBUG
    for noisy in ("tortoise", "aiosqlite", "web3.providers"):
        logging.getLogger(noisy).setLevel(logging.WARNING if quiet else logging.NOTSET)
