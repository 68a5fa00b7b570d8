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
import datetime as dt
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.audit import audit
from app.config import Settings
from app.deposits import depth_block
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
    WantedTransfer,
)
from app.refusals import Refused
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
# Blocks the watcher searches for refunds per poll (for all of a network's refunds at once,
# in `max_scan_range` chunks), so refunds whose address was given long ago (a watcher that
# was down) catch up over a few polls, never one long one.
MAX_BLOCKS_PER_POLL = 2_000
# Canceled refunds are still searched this long, so a transfer the merchant sent before
# canceling (the cancel is refused only once the transfer is seen) is logged at WARNING.
WATCH_AFTER_CANCEL = dt.timedelta(days=1)
SMTP_TIMEOUT_SECONDS = 20.0
# Refunds still owed: the shopper's address or the merchant's transfer outstanding.
OPEN_STATUSES = frozenset({RefundStatus.PENDING_ADDRESS, RefundStatus.PENDING})
# Refunds that count against what a payment can refund (all but canceled ones).
OUTSTANDING_STATUSES = OPEN_STATUSES | {RefundStatus.SUCCEEDED}


class RefundRefused(Refused):
    """A refund cannot be made or changed (API: 400, or 503 when its network does not answer)."""


def claim_url(refund: Refund, settings: Settings) -> str:
    """The shopper's claim link (its token is the capability)."""
    return f"{settings.base_url}/refund/{refund.claim_token}"


def refundable_amount(payment: Payment) -> int:
    """What the payment brought the merchant, in base units (the most its refunds add up to).

    Through the payment contract the merchant got its amount; the gateway fee went to the
    fee recipient. Final money at a deposit address (`amount_final`: the amount plus the fee,
    or more when overpaid) is split by the sweep in proportion: the merchant gets all but
    the fee's share of it. A payment paid both ways (money sent again to its deposit
    address) brought both.
    """
    amount = int(payment.amount_base_units)
    fee = int(payment.fee_base_units or 0)
    arrived = int(payment.amount_final or 0)
    # The fee's share of what arrived, rounded down as the sweep rounds it.
    from_deposit = arrived - arrived * fee // (amount + fee) if amount + fee > 0 else arrived
    through_contract = amount if payment.tx_hash is not None or not arrived else 0
    return through_contract + from_deposit


async def refunded_amount(payment_id: str, connection: BaseDBAsyncClient | None = None) -> int:
    """The total of the payment's refunds that are not canceled."""
    # UInt256Field stores digit strings, so the database cannot sum them: add them here
    # (a payment has a handful of refunds).
    amounts = (
        await Refund.filter(payment_id=payment_id, status__in=list(OUTSTANDING_STATUSES))
        .using_db(connection)
        .values_list("amount_base_units", flat=True)
    )
    return sum(int(str(amount)) for amount in amounts)


async def left_to_refund(payment: Payment, connection: BaseDBAsyncClient | None = None) -> int:
    """What can still be refunded of `payment` (never below zero): what it brought the
    merchant less its refunds that are not canceled. Create and the dashboard's form use it."""
    return max(0, refundable_amount(payment) - await refunded_amount(payment.id, connection))


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
        available = await left_to_refund(locked, conn)
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
    refundable again. Refused once the merchant's transfer is seen on chain (even before it
    is final): the money is on its way, the refund succeeds when it is final."""
    try:
        async with in_transaction() as conn:
            await transition(
                refund,
                RefundStatus.CANCELED,
                EventType.REFUND_CANCELED,
                request_id=request_id,
                idempotency_key=idempotency_key,
                connection=conn,
                only_if={"tx_hash": None},
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
        if current.status == RefundStatus.PENDING and current.tx_hash is not None:
            raise RefundRefused(
                "refund_transfer_seen",
                f"Refund {refund.id} cannot be canceled: its transfer {current.tx_hash} is "
                "already on chain (it succeeds once it has its confirmations).",
                "id",
            ) from None
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
        changes={
            "tx_hash": transfer.tx_id,
            "tx_position": transfer.position,
            "block_number": transfer.block_number,
        },
    )
    return refund


@dataclass
class RefundScan:
    """What one `recognise_refunds` round did (tests read it)."""

    succeeded: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # a transfer found, not final yet
    lost: list[str] = field(default_factory=list)  # a seen transfer a reorg removed


async def recognise_refunds(
    network: Network,
    processed_head: int,
    finality: FinalityPolicy,
) -> RefundScan:
    """Recognise the merchant's transfers that pay pending refunds on `network`; the watcher
    calls this every round with its cursor (`processed_head`).

    Two steps, both cheap whatever the number of refunds:

    - Refunds without a transfer yet are searched together: one `find_transfers` call per
      block range asks for every (token, sender, recipient) wanted, from the oldest
      `watch_from_block` on, at most `MAX_BLOCKS_PER_POLL` blocks a round. Every refund's
      `watch_from_block` then moves past the blocks searched (a reorg rewinds it: `rewind`).
      A transfer of at least the amount that no other refund recorded is stored on the
      refund while it is still pending (`tx_hash`, `tx_position`, `block_number`): from then
      on it cannot be canceled, and no other refund can count the same transfer (the
      unique index on (network, tx_hash, tx_position) backs that against races).
    - A refund with a seen transfer only has that transfer located again (one look-up): once
      it is as deep as the payment's confirmations want (`app.deposits.depth_block`), the
      refund succeeds; if the chain no longer has it, it is forgotten and searched again.
    """
    scan = RefundScan()
    if not isinstance(network, RefundNetwork):
        return scan
    pending = await Refund.filter(network=network.key, status=RefundStatus.PENDING).order_by(
        "created_at", "id"
    )
    # Refunds canceled lately are still looked at, so a transfer the merchant sent before
    # canceling is reported to the operator (it pays nothing).
    canceled = await Refund.filter(
        network=network.key,
        status=RefundStatus.CANCELED,
        address__not_isnull=True,
        tx_hash=None,
        updated_at__gte=utcnow() - WATCH_AFTER_CANCEL,
    ).order_by("created_at", "id")
    searching = [r for r in pending if r.tx_hash is None and r.address is not None] + canceled
    found = await _search(network, searching, processed_head) if searching else {}
    seen = [r for r in pending if r.tx_hash is not None]
    if not seen:
        return scan
    payments = {p.id: p for p in await Payment.filter(id__in=list({r.payment_id for r in seen}))}
    finalized = await network.finalized_head() if finality.require_finalized_tag else None
    for refund in seen:
        depth = depth_block(payments[refund.payment_id], processed_head, finality, finalized)
        await _follow_seen(network, refund, found.get(refund.id), depth, scan)
    return scan


async def _follow_seen(
    network: Network,
    refund: Refund,
    just_found: ChainTransfer | None,
    depth: int,
    scan: RefundScan,
) -> None:
    """A seen transfer: final yet (`refund.succeeded`), still there, or gone?"""
    assert isinstance(network, RefundNetwork)
    assert refund.tx_hash is not None and refund.tx_position is not None
    transfer = just_found or await network.locate_transfer(refund.tx_hash, refund.tx_position)
    if transfer is None or not _pays(transfer, refund):
        # A reorg removed it (or the node now says it failed): forget it and search again
        # from before its old block (it may come back in a later one).
        previous = refund.block_number or 0
        watch_from = min(refund.watch_from_block or 0, max(0, previous - 1))
        await Refund.filter(id=refund.id, status=RefundStatus.PENDING).update(
            tx_hash=None, tx_position=None, block_number=None, watch_from_block=watch_from
        )
        log.warning(
            "%s: refund %s: transfer %s is no longer on chain; looking for it again",
            network.key,
            refund.id,
            refund.tx_hash,
        )
        refund.tx_hash = refund.tx_position = refund.block_number = None
        refund.watch_from_block = watch_from
        scan.lost.append(refund.id)
        return
    if transfer.block_number <= depth:
        try:
            await succeed_refund(refund, transfer)
        except (ConcurrentTransition, IllegalTransition):
            return  # another watcher process got there first
        log.info("%s: refund %s paid in %s", network.key, refund.id, transfer.tx_id)
        scan.succeeded.append(refund.id)
        return
    if transfer.block_number != refund.block_number:  # re-included in another block
        await Refund.filter(id=refund.id, status=RefundStatus.PENDING).update(
            block_number=transfer.block_number
        )
        refund.block_number = transfer.block_number
    scan.seen.append(refund.id)


def _pays(transfer: ChainTransfer, refund: Refund) -> bool:
    return (transfer.token, transfer.sender, transfer.recipient) == (
        refund.token_address,
        refund.from_address,
        refund.address,
    ) and transfer.amount >= refund.amount_base_units


async def _search(
    network: Network, refunds: Sequence[Refund], processed_head: int
) -> dict[str, ChainTransfer]:
    """Search the blocks after the refunds' `watch_from_block`s once for all of them; the
    transfers recorded on refunds by their id (those refunds are then seen)."""
    assert isinstance(network, RefundNetwork)
    # `watch_from_block` is the last block that needs no more looking at (at first the head
    # when the address was given: the merchant could not know where to send it before).
    start = min(r.watch_from_block or 0 for r in refunds) + 1
    last = min(processed_head, start + MAX_BLOCKS_PER_POLL - 1)
    if last < start:
        return {}
    found: list[ChainTransfer] = []
    chunk = max(1, network.max_scan_range)
    for first in range(start, last + 1, chunk):
        end = min(last, first + chunk - 1)
        wanted = {
            WantedTransfer(r.token_address, r.from_address, r.address or "")
            for r in refunds
            if (r.watch_from_block or 0) < end
        }
        if wanted:
            found += await network.find_transfers(sorted(wanted, key=repr), first, end)
    # A transfer already recorded on a refund pays no other one (refunds that succeeded
    # before positions were recorded take their whole transaction).
    taken: set[tuple[str, int]] = set()
    if found:
        recorded = await Refund.filter(
            network=network.key, tx_hash__in=list({t.tx_id for t in found})
        ).values_list("tx_hash", "tx_position")
        whole = {str(tx) for tx, position in recorded if position is None}
        taken = {(str(tx), int(str(position))) for tx, position in recorded if position is not None}
        taken |= {(t.tx_id, t.position) for t in found if t.tx_id in whole}
    recorded_now: dict[str, ChainTransfer] = {}
    for refund in refunds:
        for transfer in found:
            if transfer.block_number <= (refund.watch_from_block or 0):
                continue
            if (transfer.tx_id, transfer.position) in taken or not _pays(transfer, refund):
                continue
            if refund.status == RefundStatus.CANCELED:
                _warn_canceled(network, refund, transfer)
                taken.add((transfer.tx_id, transfer.position))
                break
            if await _record_seen(network, refund, transfer):
                recorded_now[refund.id] = transfer
                taken.add((transfer.tx_id, transfer.position))
                break
            if refund.status != RefundStatus.PENDING:
                break  # canceled meanwhile
            taken.add((transfer.tx_id, transfer.position))  # another refund's (a race)
        if refund.id not in recorded_now and (refund.watch_from_block or 0) < last:
            await Refund.filter(id=refund.id, status=refund.status, tx_hash=None).update(
                watch_from_block=last
            )
            refund.watch_from_block = last
    return recorded_now


async def _record_seen(network: Network, refund: Refund, transfer: ChainTransfer) -> bool:
    """Store the transfer on the refund while it is pending (no cancel from now on); False
    when another refund recorded it first or the refund is no longer pending."""
    try:
        updated = await Refund.filter(
            id=refund.id, status=RefundStatus.PENDING, tx_hash=None
        ).update(
            tx_hash=transfer.tx_id,
            tx_position=transfer.position,
            block_number=transfer.block_number,
            watch_from_block=transfer.block_number,
            updated_at=utcnow(),
        )
    except IntegrityError:
        log.info(
            "%s: transfer %s/%d already pays another refund",
            network.key,
            transfer.tx_id,
            transfer.position,
        )
        return False
    if updated != 1:
        current = await Refund.get(id=refund.id)
        refund.status = current.status
        if current.status == RefundStatus.CANCELED:
            _warn_canceled(network, refund, transfer)
        return False
    refund.tx_hash = transfer.tx_id
    refund.tx_position = transfer.position
    refund.block_number = transfer.block_number
    refund.watch_from_block = transfer.block_number
    log.info("%s: refund %s: transfer %s seen", network.key, refund.id, transfer.tx_id)
    return True


def _warn_canceled(network: Network, refund: Refund, transfer: ChainTransfer) -> None:
    log.warning(
        "%s: refund %s was canceled, but a transfer for it arrived anyway (%s, %s base units "
        "from %s to %s): money was sent for a canceled refund",
        network.key,
        refund.id,
        transfer.tx_id,
        transfer.amount,
        transfer.sender,
        transfer.recipient,
    )


async def rewind(
    network_key: str, ancestor: int, connection: BaseDBAsyncClient | None = None
) -> None:
    """A reorg replaced the blocks after `ancestor` (the watcher calls this as it rewinds
    its cursor): blocks searched for refunds after it are searched again. Transfers seen in
    them are located again by `recognise_refunds` (forgotten if gone, and then searched
    for from here)."""
    await (
        Refund.filter(
            network=network_key, status=RefundStatus.PENDING, watch_from_block__gt=ancestor
        )
        .using_db(connection)
        .update(watch_from_block=ancestor)
    )


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
