"""API object shapes: the one place models become JSON (responses, event snapshots)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.models import (
    CheckoutSession,
    Event,
    Payment,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.money import FiatAmount, base_units_to_decimal
from app.states import WebhookDeliveryStatus, register_snapshotter


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


def event_object(event: Event) -> dict[str, Any]:
    """The event as the API lists it and as webhooks deliver it (the same bytes' source)."""
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created": unix_seconds(event.created_at),
        "livemode": event.livemode,
        "data": dict(event.data),
        "request": {"id": event.request_id, "idempotency_key": event.idempotency_key},
    }


def webhook_endpoint_object(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    """`secret` is given only when it was just created or rotated: it is never shown again."""
    rendered: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "livemode": endpoint.livemode,
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events),
        "metadata": dict(endpoint.metadata),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "created": unix_seconds(endpoint.created_at),
    }
    if secret is not None:
        rendered["secret"] = secret
    return rendered


def webhook_attempt_object(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.number,
        "started": unix_seconds(attempt.started_at),
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "response_body": attempt.response_body,
    }


def webhook_delivery_object(
    delivery: WebhookDelivery, event_type: str, attempts: list[WebhookAttempt]
) -> dict[str, Any]:
    pending = delivery.status == WebhookDeliveryStatus.PENDING
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "event": delivery.event_id,  # type: ignore[attr-defined]
        "event_type": event_type,
        "endpoint": delivery.endpoint_id,  # type: ignore[attr-defined]
        "status": delivery.status,
        "attempt_count": delivery.attempts,
        "next_attempt_at": unix_seconds(delivery.next_attempt_at) if pending else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "attempts": [webhook_attempt_object(a) for a in attempts],
        "created": unix_seconds(delivery.created_at),
        "completed": unix_seconds(delivery.completed_at) if delivery.completed_at else None,
    }


def payment_object(payment: Payment) -> dict[str, Any]:
    """A payment with its locked quote and the transaction request a wallet sends."""
    fiat = FiatAmount(payment.amount_fiat_cents, payment.fiat_currency)
    wallet = payment.wallet_request or {}
    return {
        "id": payment.id,
        "object": "payment",
        "livemode": payment.livemode,
        "status": payment.status,
        "session": payment.session_id,  # type: ignore[attr-defined]
        "amount_fiat": fiat.decimal_string(),
        "amount_fiat_cents": payment.amount_fiat_cents,
        "currency": payment.fiat_currency.lower(),
        "amount_crypto": base_units_to_decimal(payment.amount_base_units, payment.decimals),
        "amount_base_units": str(payment.amount_base_units),
        "crypto_currency": payment.crypto_currency,
        "decimals": payment.decimals,
        "network": payment.network,
        "token_address": payment.token_address,
        "quote": {
            "rate": payment.quote_rate,
            "source": payment.quote_source,
            "at": unix_seconds(payment.quote_at) if payment.quote_at else None,
        },
        "recipient": payment.recipient,
        # A plain transfer from any wallet or exchange to this address pays (null when the
        # network has no deposit addresses); what arrived there so far, in crypto units.
        "deposit_address": payment.deposit_address,
        # What anyone needs to sweep that address to the merchant without Kassa (the
        # network's own terms; for EVM: payout, fee recipient, fee basis points, reference).
        "deposit_terms": payment.deposit_terms,
        "amount_received": base_units_to_decimal(payment.amount_received, payment.decimals),
        "late": payment.late,
        "fee_base_units": str(payment.fee_base_units),
        # The network's wallet request, under the names the API has always used.
        "to_contract": wallet.get("to", ""),
        "data": wallet.get("data", ""),
        "value": str(wallet.get("value", "0")),
        "approve": wallet.get("approve"),
        "eip681_uri": payment.payment_uri,
        "min_confirmations": payment.min_confirmations,
        "expires_at": payment.deadline,
        "tx_hash": payment.tx_hash,
        "block_number": payment.block_number,
        "payer": payment.payer,
        "confirmations": payment.confirmations,
        "created": unix_seconds(payment.created_at),
    }


register_snapshotter(Payment, payment_object)
