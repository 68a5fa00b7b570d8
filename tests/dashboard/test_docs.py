"""docs/dashboard.md shows every page at desktop width and at 360 px, from files that exist."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
IMAGE = re.compile(r"!\[[^\]]*\]\((img/[^)]+\.png)\)")
# Every page a merchant or a shopper sees (the screenshots are taken by the browser tests).
PAGES = [
    "dashboard-sign-in",
    "dashboard-sign-in-code",
    "dashboard-account",
    "dashboard-overview",
    "dashboard-sessions",
    "dashboard-session",
    "dashboard-payments",
    "dashboard-payment",
    "dashboard-refunds",
    "dashboard-refund",
    "refund-claim",
    "dashboard-webhooks",
    "dashboard-webhook",
    "dashboard-keys",
    "dashboard-payouts",
    "dashboard-networks",
    "dashboard-audit",
]


def test_every_page_is_shown_at_desktop_width_and_360_px() -> None:
    shown = IMAGE.findall((DOCS / "dashboard.md").read_text())
    missing_files = [image for image in shown if not (DOCS / image).is_file()]
    assert missing_files == []
    missing = [
        f"img/{page}-{size}.png"
        for page in PAGES
        for size in ("desktop", "360")
        if f"img/{page}-{size}.png" not in shown
    ]
    assert missing == []
