"""Payout addresses in the dashboard: one per network of the toggle's mode.

Only owners change them, and only with their password typed again: an address decides where
the money goes. The change itself is `app.payouts.set_payout_address` (the network plugin's
validation, the `merchant.payout_address.updated` event and the audit entry in one
transaction). Developers and viewers see the addresses without a form; their POST is a 403.
"""

from __future__ import annotations

from typing import Any

from quart import Response, request

from app.dashboard.users import Role
from app.dashboard.web import (
    dashboard_blueprint,
    password_refusal,
    redirect_to,
    registry,
    render,
    requires,
    signed_in,
)
from app.models import Merchant
from app.networks import Network
from app.payouts import PayoutRefused, set_payout_address

payouts = dashboard_blueprint("dashboard_payouts")


def _networks() -> list[Network]:
    return sorted(registry().networks_for_mode(signed_in().livemode), key=lambda n: n.key)


async def _payouts_page(status: int = 200, **context: Any) -> Response:
    signed = signed_in()
    merchant = await Merchant.get(id=signed.merchant_id)
    return await render(
        "dashboard/payouts.html",
        status=status,
        networks=_networks(),
        addresses=merchant.payout_addresses,
        may_change=signed.may(Role.OWNER),
        **context,
    )


@payouts.get("/payouts")
@requires(Role.VIEWER)
async def payouts_page() -> Response:
    notice = ""
    network = request.args.get("saved", "")
    if any(n.key == network for n in _networks()):
        merchant = await Merchant.get(id=signed_in().merchant_id)
        address = merchant.payout_addresses.get(network)
        notice = (
            f"Payouts on {network} now go to {address}."
            if address
            else f"Removed the {network} payout address: payments on it are refused."
        )
    return await _payouts_page(notice=notice)


@payouts.post("/payouts")
@requires(Role.OWNER)
async def change_payout_address() -> Response:
    signed = signed_in()
    form = await request.form
    key = form.get("network", "")
    address = form.get("address", "")[:200]
    network = next((n for n in _networks() if n.key == key), None)
    if network is None:
        return await _payouts_page(400, error="Choose a network of this mode.", network_key=key)
    entered = {"network_key": key, "entered": address}
    refusal = await password_refusal(form.get("password", ""))
    if refusal is not None:
        return await _payouts_page(
            400, error=f"{refusal} The payout address is unchanged.", **entered
        )
    try:
        change = await set_payout_address(
            signed.merchant_id, network, address, actor=signed.actor, ip=signed.ip
        )
    except PayoutRefused as refused:
        return await _payouts_page(400, error=refused.message, **entered)
    if change is None:
        notice = f"The {network.key} payout address is unchanged (it was already that)."
        return await _payouts_page(notice=notice)
    # A redirect, so reloading the page does not send the form (and the password) again.
    return redirect_to(f"/dashboard/payouts?saved={network.key}")
