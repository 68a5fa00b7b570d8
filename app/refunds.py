"""Non-custodial refunds: the one service the API, the dashboard, the claim page and the
watcher call.

Kassa never holds money, so it cannot pay a refund itself. A refund is a promise the
merchant records (`refund.created`) with a claim link for the shopper, who may have paid
from an exchange and so needs to say where the money should go (`refund.address_provided`).
The merchant then sends the transfer from their own payout address, from the dashboard's
wallet button or any way they like, and the watcher recognises it on chain
(`refund.succeeded`). Until it is paid the merchant may withdraw it (`refund.canceled`).

Statuses are written by `app.states.transition` only; every change carries its event (and,
for the merchant's own actions, an audit entry) in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.audit import audit
from app.config import Settings
from app.models import CheckoutSession, Merchant, Payment, Refund, new_id, random_base62
from app.money import base_units_to_decimal
from app.networks import (
    ChainTransfer,
    FinalityPolicy,
    Network,
    RefundNetwork,
    Registry,
    RpcError,
    TransferRequest,
)
from app.states import (
    ConcurrentTransition,
    EventType,
    IllegalTransition,
    PaymentStatus,
    RefundStatus,
    record_event,
    transition,
    utcnow,
)

log = logging.getLogger("kassa.refunds")

CLAIM_TOKEN_CHARS = 32  # 190 random bits: the claim link is the shopper's only capability
# Blocks the watcher looks at for one refund per poll (in `max_scan_range` chunks), so a
# refund whose address was given long ago catches up over a few polls, never one long one.
MAX_BLOCKS_PER_POLL = 2_000
SMTP_TIMEOUT_SECONDS = 20.0
# Refunds that still count against what a payment can refund.
_OUTSTANDING = (RefundStatus.PENDING_ADDRESS, RefundStatus.PENDING, RefundStatus.SUCCEEDED)


class RefundRefused(Exception):
    """The refund change cannot be made; `code`/`param` name the reason (API: 400 or 503)."""

    def __init__(self, code: str, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.status = status


def claim_url(refund: Refund, settings: Settings) -> str:
    """The shopper's claim link (its token is the capability)."""
    return f"{settings.base_url}/refund/{refund.claim_token}"


def refundable_amount(payment: Payment) -> int:
    """What the payment brought the merchant, in base units: its amount, or what final
    plain transfers brought to its deposit address when that was more (an overpayment)."""
    return max(payment.amount_base_units, payment.amount_final)


async def refunded_amount(payment_id: str, connection: BaseDBAsyncClient | None = None) -> int:
    """The total of the payment's refunds that are not canceled."""
    # UInt256Field stores digit strings, so the database cannot sum them: add them here
    # (a payment has a handful of refunds).
    amounts = (
        await Refund.filter(payment_id=payment_id, status__in=_OUTSTANDING)
        .using_db(connection)
        .values_list("amount_base_units", flat=True)
    )
    return sum(int(str(amount)) for amount in amounts)


# ----------------------------------------------------------------------------- create


async def create_refund(
    payment: Payment,
    *,
    registry: Registry,
    actor: str,
    amount: int | None = None,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
    ip: str | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> Refund:
    """Refund (part of) a confirmed payment; the caller found `payment` in its merchant's
    mode. `amount` is in the token's base units (default: what is left to refund).

    Call `send_claim_email` once the caller's transaction has committed.
    """
    if payment.status != PaymentStatus.CONFIRMED:
        raise RefundRefused(
            "payment_not_refundable",
            f"Payment {payment.id} is {payment.status}: only confirmed payments can be refunded.",
            "payment",
        )
    network = registry.network(payment.network)
    if network is None:
        raise RefundRefused(
            "network_unavailable",
            f"Network {payment.network!r} is not enabled here, so its refunds cannot be followed.",
            "payment",
        )
    merchant = await Merchant.get(id=payment.merchant_id)
    payout = merchant.payout_addresses.get(payment.network)
    if not payout:
        raise RefundRefused(
            "payout_address_missing",
            f"You have no payout address on {payment.network}: refunds are sent from it.",
            "payment",
        )
    from_address = network.normalize_address(payout)
    if amount is not None and amount <= 0:
        raise RefundRefused("amount_too_small", "The amount must be greater than zero.", "amount")
    async with in_transaction() as conn:
        # One refund at a time per payment (PostgreSQL: the row lock; SQLite: one writer), so
        # two concurrent refunds cannot both fit in what is left.
        locked = await Payment.filter(id=payment.id).using_db(conn).select_for_update().get()
        available = refundable_amount(locked) - await refunded_amount(payment.id, conn)
        if available <= 0:
            raise RefundRefused(
                "payment_fully_refunded",
                f"Payment {payment.id} is already fully refunded (canceled refunds aside).",
                "payment",
            )
        wanted = available if amount is None else amount
        if wanted > available:
            raise RefundRefused(
                "amount_too_large",
                f"The amount exceeds what is left to refund of payment {payment.id} "
                f"({available} base units).",
                "amount",
            )
        now = utcnow()
        refund = await Refund.create(
            id=new_id("re"),
            merchant_id=payment.merchant_id,
            payment_id=payment.id,
            livemode=payment.livemode,
            status=RefundStatus.PENDING_ADDRESS,
            network=payment.network,
            crypto_currency=payment.crypto_currency,
            token_address=payment.token_address,
            decimals=payment.decimals,
            amount_base_units=wanted,
            reason=reason,
            metadata=dict(metadata or {}),
            claim_token=random_base62(CLAIM_TOKEN_CHARS),
            from_address=from_address,
            created_at=now,
            updated_at=now,
            using_db=conn,
        )
        await record_event(
            refund,
            EventType.REFUND_CREATED,
            request_id=request_id,
            idempotency_key=idempotency_key,
            connection=conn,
        )
        await audit(
            payment.merchant_id,
            actor,
            "refund.created",
            object_id=refund.id,
            details={"payment": payment.id, "amount_base_units": str(wanted)},
            ip=ip,
            connection=conn,
        )
    return refund


# ----------------------------------------------------------------------------- claim


async def refund_by_claim_token(claim_token: str) -> Refund | None:
    if not 16 <= len(claim_token) <= 64 or not claim_token.isalnum() or not claim_token.isascii():
        return None
    return await Refund.get_or_none(claim_token=claim_token)


async def provide_address(refund: Refund, address: str, *, registry: Registry) -> Refund:
    """The shopper's refund address, from the claim page (`refund.address_provided`).

    The network normalises it; the watcher looks for the merchant's transfer in the blocks
    after the current head.
    """
    if refund.status != RefundStatus.PENDING_ADDRESS:
        raise RefundRefused(
            "refund_address_already_provided"
            if refund.status != RefundStatus.CANCELED
            else "refund_canceled",
            "This refund no longer takes an address.",
            "address",
        )
    network = registry.network(refund.network)
    if network is None:
        raise RefundRefused(
            "network_unavailable", "This refund's network is not available now.", status=503
        )
    try:
        normalized = network.normalize_address(address.strip())
    except ValueError:
        raise RefundRefused(
            "address_invalid", f"This is not an address on {network.name}.", "address"
        ) from None
    if normalized == refund.from_address:
        raise RefundRefused(
            "address_invalid", "This is the merchant's own address, not yours.", "address"
        )
    try:
        head = await network.head()
    except RpcError:
        raise RefundRefused(
            "network_unavailable",
            f"{network.name} cannot be reached right now; try again in a minute.",
            status=503,
        ) from None
    try:
        await transition(
            refund,
            RefundStatus.PENDING,
            EventType.REFUND_ADDRESS_PROVIDED,
            changes={"address": normalized, "watch_from_block": head.number},
        )
    except (ConcurrentTransition, IllegalTransition):
        raise RefundRefused(
            "refund_address_already_provided", "This refund no longer takes an address.", "address"
        ) from None
    return refund


# ----------------------------------------------------------------------------- cancel


async def cancel_refund(
    refund: Refund,
    *,
    actor: str,
    ip: str | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> Refund:
    """Withdraw a refund that is not paid yet (`refund.canceled`); what it promised becomes
    refundable again."""
    try:
        async with in_transaction() as conn:
            await transition(
                refund,
                RefundStatus.CANCELED,
                EventType.REFUND_CANCELED,
                request_id=request_id,
                idempotency_key=idempotency_key,
                connection=conn,
            )
            await audit(
                refund.merchant_id,
                actor,
                "refund.canceled",
                object_id=refund.id,
                ip=ip,
                connection=conn,
            )
    except (IllegalTransition, ConcurrentTransition):
        current = await Refund.get(id=refund.id)
        raise RefundRefused(
            "refund_not_cancelable",
            f"Refund {refund.id} is {current.status}: only unpaid refunds can be canceled.",
            "id",
        ) from None
    return refund


# ----------------------------------------------------------------------------- paying


def transfer_request(refund: Refund, registry: Registry) -> TransferRequest | None:
    """What the merchant's wallet sends to pay the refund, once its address is known (None
    when the network prepares no wallet request)."""
    network = registry.network(refund.network)
    if refund.address is None or not isinstance(network, RefundNetwork):
        return None
    return network.transfer_request(refund.token_address, refund.address, refund.amount_base_units)


async def succeed_refund(refund: Refund, transfer: ChainTransfer) -> Refund:
    """The merchant's transfer is final on chain (`refund.succeeded`); the watcher calls it."""
    await transition(
        refund,
        RefundStatus.SUCCEEDED,
        EventType.REFUND_SUCCEEDED,
        changes={"tx_hash": transfer.tx_id, "block_number": transfer.block_number},
    )
    return refund


@dataclass
class RefundScan:
    """What one `recognise_refunds` round did (tests read it)."""

    succeeded: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # a transfer found, not final yet


async def recognise_refunds(
    network: Network,
    processed_head: int,
    finality: FinalityPolicy,
    reorg_window: int,
) -> RefundScan:
    """Mark pending refunds on `network` succeeded when the merchant's transfer of at least
    the amount to the shopper's address is final; the watcher calls this every round.

    Blocks after each refund's `watch_from_block` up to `processed_head` (the watcher's
    cursor) are looked at; `watch_from_block` moves forward as blocks are searched (staying
    the payment's confirmations behind, or `reorg_window` for finalized-tag policies, and
    behind any transfer seen but not yet final).
    """
    scan = RefundScan()
    if not isinstance(network, RefundNetwork):
        return scan
    pending = await Refund.filter(network=network.key, status=RefundStatus.PENDING).order_by(
        "updated_at"
    )
    if not pending:
        return scan
    payments = {p.id: p for p in await Payment.filter(id__in=list({r.payment_id for r in pending}))}
    finalized: int | None = None
    if finality.require_finalized_tag:
        block = await network.finalized_head()
        finalized = block.number if block is not None else -1
    for refund in pending:
        payment = payments[refund.payment_id]
        transfers, scanned_to = await _transfers(network, refund, processed_head)
        final = _final_transfer(transfers, refund, payment, processed_head, finality, finalized)
        if final is not None:
            try:
                await succeed_refund(refund, final)
            except (ConcurrentTransition, IllegalTransition):
                continue  # canceled meanwhile: the money went anyway, but the merchant chose
            log.info("%s: refund %s paid in %s", network.key, refund.id, final.tx_id)
            scan.succeeded.append(refund.id)
            continue
        enough = [t for t in transfers if t.amount >= refund.amount_base_units]
        if enough:
            scan.seen.append(refund.id)
        # Blocks deeper than the payment's finality are not searched again: a reorg that deep
        # is one the watcher halts on anyway. The finalized tag has no depth: the window.
        tag = finality.require_finalized_tag or finality.finalized_tag_only
        keep_back = reorg_window if tag else max(1, payment.min_confirmations)
        await _advance(refund, scanned_to, enough, keep_back)
    return scan


async def _transfers(
    network: Network, refund: Refund, processed_head: int
) -> tuple[list[ChainTransfer], int]:
    assert isinstance(network, RefundNetwork) and refund.address is not None
    # `watch_from_block` is the head when the address was given: nothing up to it can be
    # the refund (the merchant could not know where to send it).
    start = (refund.watch_from_block or 0) + 1
    last = min(processed_head, start + MAX_BLOCKS_PER_POLL - 1)
    found: list[ChainTransfer] = []
    chunk = max(1, network.max_scan_range)
    for first in range(start, last + 1, chunk):
        found += await network.find_transfers(
            refund.token_address,
            refund.from_address,
            refund.address,
            first,
            min(last, first + chunk - 1),
        )
    return found, last


def _final_transfer(
    transfers: Sequence[ChainTransfer],
    refund: Refund,
    payment: Payment,
    processed_head: int,
    finality: FinalityPolicy,
    finalized: int | None,
) -> ChainTransfer | None:
    for transfer in transfers:
        if transfer.amount < refund.amount_base_units:
            continue
        depth = processed_head - transfer.block_number + 1
        deep_enough = finality.finalized_tag_only or depth >= payment.min_confirmations
        if finalized is not None:
            deep_enough = deep_enough and transfer.block_number <= finalized
        if deep_enough:
            return transfer
    return None


async def _advance(
    refund: Refund, scanned_to: int, seen: Sequence[ChainTransfer], keep_back: int
) -> None:
    """Move `watch_from_block` (the last block that needs no more looking at) over blocks
    searched, `keep_back` blocks behind them and behind transfers not final yet (those are
    looked at again next round)."""
    done = refund.watch_from_block or 0
    target = scanned_to - keep_back
    if seen:
        target = min(target, min(t.block_number for t in seen) - 1)
    if target > done:
        await Refund.filter(id=refund.id, status=RefundStatus.PENDING).update(
            watch_from_block=target
        )
        refund.watch_from_block = target


# ----------------------------------------------------------------------------- e-mail


_sending: set[asyncio.Task[Any]] = set()


async def send_claim_email(refund: Refund, settings: Settings) -> None:
    """E-mail the claim link to the session's `customer_email`, when SMTP is configured.

    Call after the refund's transaction committed. Sent in a thread in the background; a
    failure is logged and changes nothing (the merchant also sees the link).
    """
    if not settings.smtp_url:
        return
    payment = await Payment.get(id=refund.payment_id)
    session = await CheckoutSession.get(id=payment.session_id)  # type: ignore[attr-defined]
    if not session.customer_email:
        return
    merchant = await Merchant.get(id=refund.merchant_id)
    message = claim_email(refund, merchant.name, session.customer_email, settings)
    task = asyncio.create_task(asyncio.to_thread(_send_email, settings.smtp_url, message))
    _sending.add(task)
    task.add_done_callback(_sent)


def claim_email(refund: Refund, merchant_name: str, to: str, settings: Settings) -> EmailMessage:
    amount = base_units_to_decimal(refund.amount_base_units, refund.decimals)
    message = EmailMessage()
    message["Subject"] = f"{merchant_name} is refunding {amount} {refund.crypto_currency}"
    message["From"] = settings.smtp_from or f"kassa@{urlsplit(settings.base_url).hostname}"
    message["To"] = to
    message.set_content(
        f"{merchant_name} is refunding {amount} {refund.crypto_currency} on "
        f"{refund.network} to you.\n\n"
        "Open this link and enter the address the refund should be sent to:\n\n"
        f"{claim_url(refund, settings)}\n\n"
        "Keep the link to yourself: whoever has it can choose where the refund goes.\n"
    )
    return message


def _sent(task: asyncio.Task[Any]) -> None:
    _sending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("refund claim e-mail not sent: %s", task.exception())


def _send_email(smtp_url: str, message: EmailMessage) -> None:
    """smtp://user:password@host:port (STARTTLS when offered) or smtps:// (TLS)."""
    parts = urlsplit(smtp_url)
    host = parts.hostname or "localhost"
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        client.ehlo()
        if parts.scheme != "smtps" and client.has_extn("starttls"):
            client.starttls(context=context)
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
