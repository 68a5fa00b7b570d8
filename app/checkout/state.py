"""Where a checkout stands, from the shopper's side: the one place statuses become page steps.

The status fragment, the SSE stream, the no-JS page and the redirect decision all read
`shopper_status`, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.models import CheckoutSession, Payment
from app.money import base_units_to_decimal
from app.states import PaymentStatus, SessionStatus

SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def success_redirect_url(session: CheckoutSession) -> str:
    """`success_url` with a literal `{CHECKOUT_SESSION_ID}` replaced (as Stripe does)."""
    return session.success_url.replace(SESSION_ID_PLACEHOLDER, session.id)


def cancel_redirect_url(session: CheckoutSession) -> str:
    return session.cancel_url.replace(SESSION_ID_PLACEHOLDER, session.id)


def _money_on_its_way(payment: Payment) -> bool:
    """A transaction seen, or money at the deposit address, not final yet (pending, or
    expired: a payment replaced by a switch of option may have been paid just before)."""
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.EXPIRED):
        return False
    return bool(payment.tx_hash) or bool(getattr(payment, "transfer_in_flight", False))


def _followed(session: CheckoutSession, payments: Sequence[Payment]) -> Payment | None:
    """The session's own payment; but while it has nothing on the way and another payment of
    the session has (paid just before the shopper switched option), that one, so the page
    says money is coming instead of asking for it again."""
    own = next((payment for payment in payments if payment.id == session.payment_id), None)
    if own is not None and (own.status == PaymentStatus.CONFIRMED or _money_on_its_way(own)):
        return own
    moving = [payment for payment in payments if _money_on_its_way(payment)]
    if moving:
        return max(moving, key=lambda payment: payment.created_at)
    return own or max(payments, key=lambda payment: payment.created_at, default=None)


async def active_payment(session: CheckoutSession) -> Payment | None:
    """The payment the page follows (`_followed`): the session's own, else its newest."""
    return _followed(session, await Payment.filter(session_id=session.id))


async def active_payments(sessions: Sequence[CheckoutSession]) -> dict[str, Payment | None]:
    """`active_payment` of many sessions (the live status streams) in one query."""
    payments: dict[str, list[Payment]] = {session.id: [] for session in sessions}
    for payment in await Payment.filter(session_id__in=list(payments)):
        payments[payment.session_id].append(payment)  # type: ignore[attr-defined]
    return {session.id: _followed(session, payments[session.id]) for session in sessions}


@dataclass(frozen=True, slots=True)
class ShopperStatus:
    """One step of the live status line.

    phase: choose | waiting | seen | underpaid | confirmed | late | payment_expired |
    expired | canceled. `received` and `missing` are crypto amounts (decimal strings) of
    what reached the payment's deposit address and what is still due.
    """

    phase: str
    confirmations: int = 0
    min_confirmations: int = 0
    tx_hash: str | None = None
    redirect_url: str | None = None
    received: str = ""
    missing: str = ""
    symbol: str = ""

    @property
    def final(self) -> bool:
        return self.phase in ("confirmed", "late", "expired", "canceled")

    def key(self) -> tuple[Any, ...]:
        """Changes exactly when the rendered fragment would."""
        return (
            self.phase,
            self.confirmations,
            self.min_confirmations,
            self.tx_hash,
            self.received,
            self.missing,
        )


def _money(payment: Payment, **extra: Any) -> dict[str, Any]:
    """What reached the deposit address and what is still missing, for the page."""
    total = int(payment.amount_base_units) + int(payment.fee_base_units or 0)
    received = int(payment.amount_received or 0)
    return {
        "received": base_units_to_decimal(received, payment.decimals),
        "missing": base_units_to_decimal(max(0, total - received), payment.decimals),
        "symbol": payment.crypto_currency,
        **extra,
    }


def shopper_status(session: CheckoutSession, payment: Payment | None) -> ShopperStatus:
    """Never says "nothing was charged" while money for the session is seen or confirmed."""
    if session.status == SessionStatus.COMPLETED:
        return ShopperStatus("confirmed", redirect_url=success_redirect_url(session))
    if payment is not None and payment.status == PaymentStatus.CONFIRMED:
        if session.status != SessionStatus.OPEN or getattr(payment, "late", False):
            # The money arrived after the checkout closed: it is at the merchant, who was told.
            return ShopperStatus("late", **_money(payment))
        # Confirmed but the session is not completed yet: the watcher is finishing the write.
        return ShopperStatus("seen", tx_hash=payment.tx_hash, **_money(payment))
    if payment is not None and _money_on_its_way(payment):
        if payment.status == PaymentStatus.PENDING or session.status == SessionStatus.OPEN:
            # Money on its way wins over the session clock: the session cannot expire while
            # a payment is on its way to finality.
            return ShopperStatus(
                "seen",
                confirmations=int(payment.confirmations or 0),
                min_confirmations=int(payment.min_confirmations or 0),
                tx_hash=payment.tx_hash,
                **_money(payment),
            )
    if payment is not None and int(getattr(payment, "amount_received", 0) or 0) > 0:
        # Some money arrived, not enough (the payment may have expired since): say so.
        return ShopperStatus("underpaid", **_money(payment))
    if session.status == SessionStatus.CANCELED:
        return ShopperStatus("canceled")
    if session.status == SessionStatus.EXPIRED:
        return ShopperStatus("expired")
    if payment is None:
        return ShopperStatus("choose")
    if payment.status == PaymentStatus.PENDING:
        return ShopperStatus("waiting", min_confirmations=int(payment.min_confirmations or 0))
    return ShopperStatus("payment_expired")
