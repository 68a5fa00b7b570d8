"""API object shapes: the one place models become JSON (responses, event snapshots)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.models import CheckoutSession
from app.money import FiatAmount
from app.states import register_snapshotter


def unix_seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def checkout_session_object(session: CheckoutSession) -> dict[str, Any]:
    fiat = FiatAmount(session.amount_fiat_cents, session.fiat_currency)
    return {
        "id": session.id,
        "object": "checkout.session",
        "livemode": session.livemode,
        "status": session.status,
        "amount_fiat": fiat.decimal_string(),
        "amount_fiat_cents": session.amount_fiat_cents,
        "currency": session.fiat_currency.lower(),
        "allowed_crypto_currencies": list(session.allowed_crypto_currencies),
        "allowed_networks": list(session.allowed_networks),
        "payment_id": session.payment_id,
        "checkout_url": session.checkout_url,
        "success_url": session.success_url,
        "cancel_url": session.cancel_url,
        "customer_email": session.customer_email,
        "client_reference_id": session.client_reference_id,
        "metadata": dict(session.metadata),
        "expires_at": unix_seconds(session.expires_at),
        "created": unix_seconds(session.created_at),
    }


register_snapshotter(CheckoutSession, checkout_session_object)
