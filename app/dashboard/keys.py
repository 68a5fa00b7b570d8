"""API keys in the dashboard: the toggle's mode's keys with their last use, create (the
secret shown once) and revoke. `app.keys` does the work, as for `kassa keys`; each change is
audited in its transaction. Viewers read the list; developers and owners change it.

`last_used_at` is written by authentication (`app.api.auth`) at most once a minute per key,
so "last used" is exact to the minute.
"""

from __future__ import annotations

from typing import Any

from quart import Response, request

from app.dashboard.users import Role
from app.dashboard.web import (
    dashboard_blueprint,
    error_page,
    keep_shown_once,
    owned,
    redirect_to,
    render,
    requires,
    signed_in,
    take_shown_once,
)
from app.keys import create_key, revoke_key
from app.models import ApiKey, Merchant

keys = dashboard_blueprint("dashboard_keys")


async def _keys_page(status: int = 200, **context: Any) -> Response:
    signed = signed_in()
    rows = await ApiKey.filter(merchant_id=signed.merchant_id, livemode=signed.livemode).order_by(
        "-created_at", "-id"
    )
    return await render(
        "dashboard/keys.html",
        status=status,
        keys=rows,
        may_change=signed.may(Role.DEVELOPER),
        **context,
    )


@keys.get("/keys")
@requires(Role.VIEWER)
async def keys_page() -> Response:
    done = request.args.get("done")
    notice = "Revoked: the API refuses the key within a second." if done == "revoked" else ""
    shown = request.args.get("shown", "")
    if shown:  # the page after "Create": the new key's secret, this once
        kept = take_shown_once(shown)
        if kept is not None:
            return await _keys_page(created=True, secret=kept["secret"])
        notice = (
            "The new key's secret is no longer shown: it is shown once. If you did not copy "
            "it, revoke that key and create another."
        )
    return await _keys_page(notice=notice)


@keys.post("/keys")
@requires(Role.DEVELOPER)
async def create_api_key() -> Response:
    signed = signed_in()
    merchant = await Merchant.get(id=signed.merchant_id)
    created = await create_key(merchant, signed.livemode, actor=signed.actor, ip=signed.ip)
    # A redirect, so reloading the page does not create another key.
    return redirect_to(f"/dashboard/keys?shown={keep_shown_once({'secret': created.secret})}")


@keys.post("/keys/<key_id>/revoke")
@requires(Role.DEVELOPER)
async def revoke_api_key(key_id: str) -> Response:
    signed = signed_in()
    key = await owned(ApiKey, key_id)
    if key is None:
        return await error_page(404, "No such API key in this mode.")
    await revoke_key(key.id, actor=signed.actor, ip=signed.ip)
    # A redirect, so reloading the list does not send the form again.
    return redirect_to("/dashboard/keys?done=revoked")
