"""Checkout-session services: what the API, the checkout, the dashboard and the loops call."""

from __future__ import annotations

from tortoise.expressions import Q

from app.models import CheckoutSession, Payment
from app.states import (
    ConcurrentTransition,
    EventType,
    PaymentStatus,
    SessionStatus,
    transition,
    utcnow,
)

EXPIRY_BATCH = 200


def in_flight() -> Q:
    """Payments with money on chain that is not final yet: a seen transaction, or a transfer
    to the deposit address still short of the confirmation depth. Expired payments count too:
    one replaced by a switch of option may have been paid just before it, and its money
    still confirms it."""
    return Q(status__in=[PaymentStatus.PENDING, PaymentStatus.EXPIRED]) & (
        Q(tx_hash__not_isnull=True) | Q(transfer_in_flight=True)
    )


async def payment_in_flight(session_id: str) -> bool:
    """A payment of the session has money on chain that is not final yet."""
    return await Payment.filter(in_flight(), session_id=session_id).exists()


async def expire_due_sessions() -> int:
    """Expire open sessions past `expires_at`; returns how many this call expired."""
    # Not while a transaction is seen but not yet final: it may still complete. Excluded in
    # the query, so a batch full of such sessions never holds back the others.
    busy = await Payment.filter(in_flight()).values_list("session_id", flat=True)
    due = (
        await CheckoutSession.filter(status=SessionStatus.OPEN, expires_at__lte=utcnow())
        .exclude(id__in=list(busy))
        .order_by("expires_at")
        .limit(EXPIRY_BATCH)
    )
    expired = 0
    for session in due:
        if await payment_in_flight(session.id):
            continue  # a transaction appeared since the query
        try:
            await transition(session, SessionStatus.EXPIRED, EventType.CHECKOUT_SESSION_EXPIRED)
            expired += 1
        except ConcurrentTransition:
            continue  # completed, canceled or expired by someone else meanwhile
    return expired
