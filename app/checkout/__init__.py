"""Hosted checkout: the shopper's page, its HTMX fragments and live status (architecture §1)."""

from __future__ import annotations

from app.checkout.assets import compress_response, static_url
from app.checkout.routes import checkout

__all__ = ["checkout", "compress_response", "static_url"]
