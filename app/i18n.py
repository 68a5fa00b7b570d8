"""The checkout's languages: which locales exist, and choosing one for a shopper."""

from __future__ import annotations

# Locales a session may name (`locale`), besides "auto" (the shopper's Accept-Language).
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "de", "fr", "es", "pt", "it")
DEFAULT_LOCALE = "en"
