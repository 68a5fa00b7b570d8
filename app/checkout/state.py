"""Where a checkout stands, from the shopper's side: the one place statuses become page steps.

The status fragment, the SSE stream, the no-JS page and the redirect decision all read
`shopper_status`, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.models import CheckoutSession, Payment
from app.states import PaymentStatus, SessionStatus

SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def success_redirect_url(session: CheckoutSession) -> str:
    """`success_url` with a literal `{CHECKOUT_SESSION_ID}` replaced (as Stripe does)."""
    return session.success_url.replace(SESSION_ID_PLACEHOLDER, session.id)


def cancel_redirect_url(session: CheckoutSession) -> str:
    return session.cancel_url.replace(SESSION_ID_PLACEHOLDER, session.id)


async def active_payment(session: CheckoutSession) -> Payment | None:
    """The payment the page follows: the session's own, else its newest pending one."""
    if session.payment_id:
        payment = await Payment.get_or_none(id=session.payment_id)
        if payment is not None:
            return payment
    return await Payment.filter(session_id=session.id).order_by("-created_at").first()


@dataclass(frozen=True, slots=True)
class ShopperStatus:
    """One step of the live status line.

    phase: choose | waiting | seen | confirmed | payment_expired | expired | canceled
    """

    phase: str
    confirmations: int = 0
    min_confirmations: int = 0
    tx_hash: str | None = None
    redirect_url: str | None = None

    @property
    def final(self) -> bool:
        return self.phase in ("confirmed", "expired", "canceled")

    def key(self) -> tuple[Any, ...]:
        """Changes exactly when the rendered fragment would."""
        return (self.phase, self.confirmations, self.min_confirmations, self.tx_hash)


def shopper_status(session: CheckoutSession, payment: Payment | None) -> ShopperStatus:
    if session.status == SessionStatus.COMPLETED:
        return ShopperStatus("confirmed", redirect_url=success_redirect_url(session))
    if session.status == SessionStatus.CANCELED:
        return ShopperStatus("canceled")
    tx_hash = getattr(payment, "tx_hash", None) if payment is not None else None
    if payment is not None and tx_hash and payment.status == PaymentStatus.PENDING:
        # A seen transaction wins over the session clock: the session cannot expire
        # while a payment is on its way to finality.
        return ShopperStatus(
            "seen",
            confirmations=int(getattr(payment, "confirmations", 0) or 0),
            min_confirmations=int(getattr(payment, "min_confirmations", 0) or 0),
            tx_hash=tx_hash,
        )
    if session.status == SessionStatus.EXPIRED:
        return ShopperStatus("expired")
    if payment is None:
        return ShopperStatus("choose")
    if payment.status == PaymentStatus.PENDING:
        return ShopperStatus(
            "waiting", min_confirmations=int(getattr(payment, "min_confirmations", 0) or 0)
        )
    if payment.status == PaymentStatus.EXPIRED:
        return ShopperStatus("payment_expired")
    # Confirmed but the session is not completed yet: the watcher is finishing the write.
    return ShopperStatus(
        "seen",
        confirmations=int(getattr(payment, "confirmations", 0) or 0),
        min_confirmations=int(getattr(payment, "min_confirmations", 0) or 0),
        tx_hash=tx_hash,
    )
