"""The dashboard's first page: volume and counts per day."""

from __future__ import annotations

from quart import Response

from app.dashboard.users import Role
from app.dashboard.web import dashboard_blueprint, render, requires

overview = dashboard_blueprint("dashboard_overview")


@overview.get("/")
@requires(Role.VIEWER)
async def overview_page() -> Response:
    return await render("dashboard/overview.html")
