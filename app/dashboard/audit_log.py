"""The audit log (`app.models.AuditLog`, written by `app.audit`): who did what, newest first.

Owners only: it names every user and key and the addresses they came from. Entries are the
merchant's account's, not a mode's (a payout address or a user is neither test nor live);
entries about a mode's objects say which in their details.
"""

from __future__ import annotations

from typing import Any

from quart import Response, request

from app.dashboard.users import Role
from app.dashboard.web import dashboard_blueprint, render, requires, signed_in
from app.models import ApiKey, AuditLog, User

audit_log = dashboard_blueprint("dashboard_audit")

PAGE_SIZE = 50


def _before() -> int | None:
    """The `before` cursor (an entry id); anything else starts from the newest."""
    value = request.args.get("before", "")
    # isascii: "²" and other digits that int() refuses are str.isdigit() too.
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


async def _actor_names(entries: list[AuditLog], merchant_id: str) -> dict[str, str]:
    """ "user:…" as the user's e-mail and "key:…" as the key's display, where they exist."""
    user_ids = {e.actor[5:] for e in entries if e.actor.startswith("user:")}
    key_ids = {e.actor[4:] for e in entries if e.actor.startswith("key:")}
    names: dict[str, str] = {"cli": "command line (operator)"}
    if user_ids:
        users = await User.filter(id__in=user_ids, merchant_id=merchant_id).values_list(
            "id", "email"
        )
        names.update({f"user:{uid}": str(email) for uid, email in users})
    if key_ids:
        found = await ApiKey.filter(id__in=key_ids, merchant_id=merchant_id).values_list(
            "id", "display"
        )
        names.update({f"key:{kid}": f"API key {display}" for kid, display in found})
    return names


@audit_log.get("/audit")
@requires(Role.OWNER)
async def audit_page() -> Response:
    signed = signed_in()
    query = AuditLog.filter(merchant_id=signed.merchant_id)
    before = _before()
    if before is not None:
        query = query.filter(id__lt=before)
    # One more than a page tells whether older entries exist.
    entries = list(await query.order_by("-id").limit(PAGE_SIZE + 1))
    older = None
    if len(entries) > PAGE_SIZE:
        entries = entries[:PAGE_SIZE]
        older = f"/dashboard/audit?before={entries[-1].id}"
    context: dict[str, Any] = {
        "entries": entries,
        "names": await _actor_names(entries, signed.merchant_id),
        "older": older,
        "newest": "/dashboard/audit" if before is not None else None,
    }
    return await render("dashboard/audit.html", **context)
