"""Dashboard refunds: the list, a refund's page (claim link, status, the wallet button that
sends it, cancel) and the Refund form on a payment's page. Everything goes through
`app.refunds`, like the API. Refunds move money: only owners create, pay or cancel them;
developers and viewers see them."""

from __future__ import annotations

from typing import Any

from quart import Response, request

from app.dashboard.formatting import crypto, token_amount
from app.dashboard.paging import page_of
from app.dashboard.users import Role
from app.dashboard.web import (
    dashboard_blueprint,
    error_page,
    owned,
    redirect_to,
    registry,
    render,
    requires,
    settings,
    signed_in,
)
from app.models import Merchant, Payment, Refund
from app.money import MoneyError, decimal_to_base_units
from app.networks import Network, RefundNetwork
from app.refunds import (
    OPEN_STATUSES,
    RefundRefused,
    cancel_refund,
    claim_url,
    create_refund,
    left_to_refund,
    send_claim_email,
    transfer_request,
)
from app.states import PaymentStatus, RefundStatus

refunds = dashboard_blueprint("dashboard_refunds")

PAGE_SIZE = 50
# What wallet.js says while the merchant pays a refund (its English texts stand for the rest).
WALLET_MESSAGES = {
    "confirm_payment": "Confirm the refund in your wallet…",
    "sent": "Refund sent (%(hash)s…). It shows as succeeded once it has its confirmations.",
    "not_enough": "Not enough %(symbol)s in this account for this refund.",
    "no_wallet": "No browser wallet found. Send the refund from your payout address any other way.",
}


# ----------------------------------------------------------------------------- list


@refunds.get("/refunds")
@requires(Role.VIEWER)
async def refunds_list() -> Response:
    signed = signed_in()
    query = Refund.filter(merchant_id=signed.merchant_id, livemode=signed.livemode)
    status = request.args.get("status", "")
    if status in set(RefundStatus):
        query = query.filter(status=status)
    else:
        status = ""
    filters = {"status": status} if status else {}
    rows, links, error = await page_of(query, "/dashboard/refunds", filters, PAGE_SIZE)
    return await render(
        "dashboard/refunds.html",
        refunds=rows,
        links=links,
        error=error,
        status_filter=status,
        statuses=list(RefundStatus),
    )


# ----------------------------------------------------------------------------- one refund


@refunds.get("/refunds/<refund_id>")
@requires(Role.VIEWER)
async def refund_page(refund_id: str) -> Response:
    refund = await owned(Refund, refund_id)
    if refund is None:
        return await error_page(404, "No such refund in this mode.")
    return await _refund_page(refund)


async def _refund_page(refund: Refund, status: int = 200, **extra: Any) -> Response:
    signed = signed_in()
    known = registry()
    network = known.network(refund.network)
    owner = signed.may(Role.OWNER)
    # Once the merchant's transfer is seen on chain, there is nothing left to send or cancel.
    awaiting_transfer = refund.status == RefundStatus.PENDING and refund.tx_hash is None
    transfer = transfer_request(refund, known) if awaiting_transfer else None
    payable = (
        owner
        and transfer is not None
        and isinstance(network, RefundNetwork)
        and bool(network.transfer_template)
    )
    return await render(
        "dashboard/refund.html",
        status=status,
        refund=refund,
        amount=crypto(refund),
        network=network,
        network_name=network.name if network is not None else refund.network,
        # The claim link lets whoever holds it choose where the money goes: owners only.
        claim_url=claim_url(refund, settings()) if owner else "",
        tx_url=_tx_url(network, refund.tx_hash),
        may_change=owner and refund.status in OPEN_STATUSES and refund.tx_hash is None,
        payout_now=await _changed_payout(refund, network),
        transfer=transfer if payable else None,
        transfer_uri=transfer.uri if transfer is not None else "",
        scripts=network.checkout_scripts if payable and network is not None else (),
        transfer_messages=WALLET_MESSAGES,
        notice=request.args.get("notice", "") if request.method == "GET" else "",
        **extra,
    )


async def _changed_payout(refund: Refund, network: Network | None) -> str:
    """The merchant's payout address on the refund's network when it is no longer the one
    the refund must be sent from ("" when unchanged, or the refund needs no transfer): the
    watcher only recognises a transfer from `refund.from_address`."""
    if refund.status not in OPEN_STATUSES or refund.tx_hash is not None:
        return ""
    merchant = await Merchant.get(id=refund.merchant_id)
    payout = merchant.payout_addresses.get(refund.network) or ""
    if network is not None and payout:
        try:
            payout = network.normalize_address(payout)
        except ValueError:
            pass
    return payout if payout != refund.from_address else ""


def _tx_url(network: Network | None, tx_hash: str | None) -> str:
    return network.explorer_tx_url(tx_hash) if network is not None and tx_hash else ""


@refunds.post("/refunds/<refund_id>/cancel")
@requires(Role.OWNER)
async def refund_cancel(refund_id: str) -> Response:
    refund = await owned(Refund, refund_id)
    if refund is None:
        return await error_page(404, "No such refund in this mode.")
    signed = signed_in()
    try:
        await cancel_refund(refund, actor=signed.actor, ip=signed.ip)
    except RefundRefused as refused:
        current = await Refund.get(id=refund.id)
        return await _refund_page(current, 400, error=refused.message)
    return redirect_to(f"/dashboard/refunds/{refund.id}?notice=canceled")


# ----------------------------------------------------------------------------- create


@refunds.get("/payments/<payment_id>/refunds")
@requires(Role.OWNER)
async def refund_form(payment_id: str) -> Response:
    payment = await owned(Payment, payment_id)
    if payment is None:
        return await error_page(404, "No such payment in this mode.")
    return await _form_page(payment)


async def _form_page(payment: Payment, status: int = 200, **extra: Any) -> Response:
    left = await left_to_refund(payment)
    return await render(
        "dashboard/refund_new.html",
        status=status,
        payment=payment,
        left=token_amount(left, payment),
        refundable=payment.status == PaymentStatus.CONFIRMED and left > 0,
        **extra,
    )


@refunds.post("/payments/<payment_id>/refunds")
@requires(Role.OWNER)
async def refund_create(payment_id: str) -> Response:
    payment = await owned(Payment, payment_id)
    if payment is None:
        return await error_page(404, "No such payment in this mode.")
    form = await request.form
    entered = form.get("amount", "").strip()
    reason = form.get("reason", "").strip()[:500] or None
    signed = signed_in()
    try:
        amount = decimal_to_base_units(entered, payment.decimals) if entered else None
        refund = await create_refund(
            payment,
            registry=registry(),
            actor=signed.actor,
            amount=amount,
            reason=reason,
            ip=signed.ip,
        )
    except MoneyError as error:
        return await _form_page(payment, 400, error=str(error), amount=entered, reason=reason)
    except RefundRefused as refused:
        return await _form_page(payment, 400, error=refused.message, amount=entered, reason=reason)
    await send_claim_email(refund, settings())
    return redirect_to(f"/dashboard/refunds/{refund.id}?notice=created")
