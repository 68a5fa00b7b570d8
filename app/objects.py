"""API object shapes: the one place models become JSON (responses, event snapshots)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.models import (
    CheckoutSession,
    Event,
    Payment,
    Refund,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.money import FiatAmount, base_units_to_decimal
from app.networks import current_registry
from app.refunds import claim_url
from app.states import WebhookDeliveryStatus, register_snapshotter

# 9999-12-31T23:59:59Z: the last second `datetime` (and ISO 8601's four-digit year) can show.
MAX_UNIX_TIME = 253_402_300_799


def iso_time(moment: dt.datetime | int) -> str:
    """Every time the API shows: ISO 8601 UTC with whole seconds, "2025-11-23T13:05:00Z".

    Takes a datetime (the database's are aware; a naive one is taken as UTC, never as the
    server's local time) or Unix seconds (chain time, e.g. a payment's deadline; clamped to
    1970..9999 so no chain's clock can make rendering fail).
    """
    if isinstance(moment, int):
        moment = dt.datetime.fromtimestamp(min(max(moment, 0), MAX_UNIX_TIME), dt.UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    else:
        moment = moment.astimezone(dt.UTC)
    # isoformat pads the year to four digits (strftime's %Y does not on every platform).
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def iso_time_or_none(moment: dt.datetime | None) -> str | None:
    return None if moment is None else iso_time(moment)


def checkout_session_object(session: CheckoutSession) -> dict[str, Any]:
    fiat = FiatAmount(session.amount_fiat_cents, session.fiat_currency)
    return {
        "id": session.id,
        "object": "checkout.session",
        "livemode": session.livemode,
        "status": session.status,
        "mode": session.mode,
        "amount_fiat": fiat.decimal_string(),
        "amount_fiat_cents": session.amount_fiat_cents,
        "fiat_currency": session.fiat_currency.upper(),
        "allowed_crypto_currencies": list(session.allowed_crypto_currencies),
        "allowed_networks": list(session.allowed_networks),
        "payment_id": session.payment_id,
        "success_url": session.success_url,
        "cancel_url": session.cancel_url,
        "customer_email": session.customer_email,
        "client_reference_id": session.client_reference_id,
        "metadata": dict(session.metadata),
        "locale": session.locale,
        "checkout_url": session.checkout_url,
        "expires_at": iso_time(session.expires_at),
        "created_at": iso_time(session.created_at),
        "updated_at": iso_time(session.updated_at),
    }


register_snapshotter(CheckoutSession, checkout_session_object)


def event_object(event: Event) -> dict[str, Any]:
    """The event as the API lists it and as webhooks deliver it (the same bytes' source)."""
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created_at": iso_time(event.created_at),
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
        "created_at": iso_time(endpoint.created_at),
    }
    if secret is not None:
        rendered["secret"] = secret
    return rendered


def webhook_attempt_object(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.number,
        "started_at": iso_time(attempt.started_at),
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
        "next_attempt_at": iso_time(delivery.next_attempt_at) if pending else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "attempts": [webhook_attempt_object(a) for a in attempts],
        "created_at": iso_time(delivery.created_at),
        "completed_at": iso_time_or_none(delivery.completed_at),
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
        "fiat_currency": payment.fiat_currency.upper(),
        "amount_crypto": base_units_to_decimal(payment.amount_base_units, payment.decimals),
        "amount_base_units": str(payment.amount_base_units),
        "crypto_currency": payment.crypto_currency,
        "decimals": payment.decimals,
        "network": payment.network,
        "token_address": payment.token_address,
        "quote": {
            "rate": payment.quote_rate,
            "source": payment.quote_source,
            "at": iso_time_or_none(payment.quote_at),
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
        # The intent's deadline is chain time: the chain's clock decides when it passes.
        "expires_at": iso_time(payment.deadline),
        "tx_hash": payment.tx_hash,
        "block_number": payment.block_number,
        "payer": payment.payer,
        "confirmations": payment.confirmations,
        "created_at": iso_time(payment.created_at),
        "updated_at": iso_time(payment.updated_at),
    }


register_snapshotter(Payment, payment_object)


def refund_object(refund: Refund) -> dict[str, Any]:
    """A refund: the merchant sends `amount` from `from_address` to the shopper's `address`."""
    return {
        "id": refund.id,
        "object": "refund",
        "livemode": refund.livemode,
        "status": refund.status,
        "payment": refund.payment_id,
        "amount_crypto": base_units_to_decimal(refund.amount_base_units, refund.decimals),
        "amount_base_units": str(refund.amount_base_units),
        "crypto_currency": refund.crypto_currency,
        "decimals": refund.decimals,
        "network": refund.network,
        "token_address": refund.token_address,
        "reason": refund.reason,
        "metadata": dict(refund.metadata),
        # The shopper's link to give the refund address (send it to them, or Kassa e-mails
        # it when it has SMTP settings and the session a customer_email).
        "claim_url": claim_url(refund, current_registry().settings),
        "address": refund.address,
        "from_address": refund.from_address,
        "tx_hash": refund.tx_hash,
        "block_number": refund.block_number,
        "created_at": iso_time(refund.created_at),
        "updated_at": iso_time(refund.updated_at),
    }


register_snapshotter(Refund, refund_object)
