"""Logging setup with a filter that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re

# Each pattern matches a secret (or the secret part of a value) that must never reach a log.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(sk_(?:test|live))_[A-Za-z0-9]+"), r"\1_[redacted]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_[redacted]"),
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:bearer|basic)?\s*\S+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    # 32-byte hex private keys.
    (re.compile(r"\b0x[0-9a-fA-F]{64}\b"), "0x[redacted-key]"),
    # URLs: credentials, query strings and long path segments (RPC providers put keys there).
    (re.compile(r"(?i)\b(https?|wss?)://[^/\s@]+@"), r"\1://[redacted]@"),
    (re.compile(r"(?i)\b((?:https?|wss?)://[^\s?#]+)\?[^\s#]*"), r"\1?[redacted]"),
    (
        re.compile(r"(?i)\b((?:https?|wss?)://[^\s/]+(?:/[^\s/]*)*?)/[A-Za-z0-9_-]{20,}"),
        r"\1/[redacted]",
    ),
)


def redact(text: str) -> str:
    """Replace every secret-looking part of `text`."""
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
