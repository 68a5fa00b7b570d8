"""Network status for operators (owners): each enabled network's head, its watcher's cursor
and lag, halts with their reason, the doctor's checks, and "Resume" for a halted watcher.

The facts and the resume are `app.network_status`'s, which `kassa networks list`/`resume`
use too. Watchers serve every merchant of the server, so this page does not follow the
test/live toggle: it shows every enabled network, testnets and mainnets.

Who is the operator? On a server with one merchant (the usual self-hosted Kassa) its owners
are. Where several merchants share a server, a halt's reason and the watcher's warnings name
other merchants' payments, and resuming affects them all: owners then see what the API shows
(`HALTED_FOR_API`, no warnings) and the operator resumes with `kassa networks resume`.
"""

from __future__ import annotations

from typing import Any

from quart import Response, request

from app.dashboard.users import Role
from app.dashboard.web import (
    dashboard_blueprint,
    error_page,
    redirect_to,
    registry,
    render,
    requires,
    signed_in,
)
from app.doctor import API_SECONDS
from app.models import Merchant
from app.network_status import network_statuses, resume_watcher

networks = dashboard_blueprint("dashboard_networks")


async def is_operator() -> bool:
    """The signed-in owner runs the server: theirs is its only merchant."""
    return await Merchant.all().limit(2).count() == 1


async def _networks_page(status: int = 200, **context: Any) -> Response:
    operator = await is_operator()
    # API_SECONDS: a slow node delays this page by at most that, and its check says so.
    rows = await network_statuses(registry(), API_SECONDS, operator)
    return await render(
        "dashboard/networks.html", status=status, networks=rows, operator=operator, **context
    )


@networks.get("/networks")
@requires(Role.OWNER)
async def networks_page() -> Response:
    resumed = request.args.get("resumed", "")
    notice = ""
    if registry().network(resumed) is not None:
        notice = f"Resumed the {resumed} watcher: it scans again from its cursor."
    return await _networks_page(notice=notice)


@networks.post("/networks/<network_key>/resume")
@requires(Role.OWNER)
async def resume_network(network_key: str) -> Response:
    if registry().network(network_key) is None:
        return await error_page(404, "No such network is enabled on this server.")
    if not await is_operator():
        return await error_page(
            403,
            "Several merchants share this server: its operator resumes watchers "
            "(kassa networks resume).",
        )
    signed = signed_in()
    resumed = await resume_watcher(
        network_key, merchant_id=signed.merchant_id, actor=signed.actor, ip=signed.ip
    )
    if resumed:  # a redirect: reloading the page does not resume again
        return redirect_to(f"/dashboard/networks?resumed={network_key}")
    return await _networks_page(409, error=f"The {network_key} watcher is not halted.")
