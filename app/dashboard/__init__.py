"""Merchant dashboard (architecture §12): sign-in, lists, timelines, refunds, exports."""

from __future__ import annotations

from quart import Blueprint

from app.dashboard.access import access
from app.dashboard.activity import activity
from app.dashboard.audit_log import audit_log
from app.dashboard.exports import exports
from app.dashboard.keys import keys
from app.dashboard.networks import networks
from app.dashboard.overview import overview
from app.dashboard.payouts import payouts
from app.dashboard.refunds import refunds
from app.dashboard.webhooks import webhooks

# Every dashboard area's blueprint; `create_app` registers each.
BLUEPRINTS: list[Blueprint] = [access, overview, activity]
BLUEPRINTS += [webhooks, keys, payouts, networks, audit_log, refunds]
BLUEPRINTS += [exports]
