"""The shopper's refund claim page: `/refund/<claim token>` (the token is the capability).

The shopper may have paid from an exchange, so the merchant cannot send a refund back to
where the money came from: this page asks where it should go. It has the checkout's look and
safety (CSP with nonces, CSRF double-submit tokens bound to the refund, no third-party
requests) and works without JavaScript: a plain form that posts and redirects back.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, redirect, render_template, request

from app.checkout.security import (
    CSRF_FIELD,
    apply_security_headers,
    csrf_ok,
    csrf_token,
    set_csrf_cookie,
)
from app.i18n import DEFAULT_LOCALE, gettext, session_locale, set_locale
from app.models import CheckoutSession, Merchant, Payment, Refund
from app.money import base_units_to_decimal
from app.networks import current_registry
from app.refunds import RefundRefused, provide_address, refund_by_claim_token

refund_claim = Blueprint("refund_claim", __name__, url_prefix="/refund")


def _csrf_binding(refund: Refund) -> str:
    # The checkout's tokens are bound to a session id; this page's to its refund.
    return f"refund:{refund.id}"


@refund_claim.before_request
async def _source_language() -> None:
    set_locale(DEFAULT_LOCALE)


@refund_claim.after_request
async def _headers(response: Response) -> Response:
    set_csrf_cookie(response)
    response.vary.add("Accept-Language")
    return apply_security_headers(response)


async def _load(claim_token: str) -> tuple[Refund, dict[str, Any]]:
    refund = await refund_by_claim_token(claim_token)
    if refund is None:
        abort(404)
    payment = await Payment.get(id=refund.payment_id)
    session = await CheckoutSession.get(id=payment.session_id)  # type: ignore[attr-defined]
    set_locale(session_locale(session.locale, request.headers.get("Accept-Language")))
    merchant = await Merchant.get(id=refund.merchant_id)
    network = current_registry().network(refund.network)
    context = {
        "refund": refund,
        "merchant": merchant,
        "amount": base_units_to_decimal(refund.amount_base_units, refund.decimals),
        "network_name": network.name if network is not None else refund.network,
        "tx_url": network.explorer_tx_url(refund.tx_hash)
        if network is not None and refund.tx_hash
        else "",
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(_csrf_binding(refund)),
        "claim_path": f"/refund/{claim_token}",
    }
    return refund, context


async def _page(context: dict[str, Any], status: int = 200) -> Response:
    body = await render_template("refund_claim.html", **context)
    return Response(body, status=status, content_type="text/html; charset=utf-8")


@refund_claim.get("/<claim_token>")
async def claim_page(claim_token: str) -> Response:
    _, context = await _load(claim_token)
    return await _page(context)


@refund_claim.post("/<claim_token>")
async def claim_address(claim_token: str) -> Response:
    refund, context = await _load(claim_token)
    if not await csrf_ok(_csrf_binding(refund)):
        context["error"] = gettext("This form expired. Please enter the address again.")
        return await _page(context, 403)
    form = await request.form
    address = form.get("address", "")
    if not address.strip():
        context["error"] = gettext("Enter the address the refund should be sent to.")
        return await _page(context, 400)
    try:
        await provide_address(refund, address, registry=current_registry())
    except RefundRefused as refused:
        context["error"] = _refusal_message(refused, context["network_name"])
        context["address"] = address
        return await _page(context, refused.status)
    return redirect(context["claim_path"], 303)  # type: ignore[return-value]


def _refusal_message(refused: RefundRefused, network_name: str) -> str:
    """What the shopper reads: the service's refusal in the page's language."""
    if refused.code == "address_invalid":
        return gettext(
            "That is not an address on %(network)s. Check it and try again.",
            network=network_name,
        )
    if refused.code == "network_unavailable":
        return gettext(
            "%(network)s cannot be reached right now. Try again in a minute.", network=network_name
        )
    return gettext("This refund no longer takes an address.")
