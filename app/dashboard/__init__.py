"""Merchant dashboard (architecture §12): sign-in, lists, timelines, refunds, exports."""

from __future__ import annotations

from quart import Blueprint

from app.dashboard.access import access
from app.dashboard.activity import activity
from app.dashboard.overview import overview

# Every dashboard area's blueprint; `create_app` registers each.
BLUEPRINTS: list[Blueprint] = [access, overview, activity]
