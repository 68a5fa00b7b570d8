"""Creating payments: checks, locked quote, the network's preparation, event.

`create_payment` is the one service both the merchant API and the hosted checkout call.
The core decides the terms (amount from the locked quote, fee, recipient, deadline); the
network plugin turns them into its own references and wallet instructions.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.models import CheckoutSession, Event, Merchant, Payment, SessionNonce, new_id
from app.money import FiatAmount
from app.networks import (
    Block,
    Network,
    PaymentTerms,
    Registry,
    RpcError,
    SessionNumberNetwork,
    Token,
    current_registry,
)
from app.plugins import notify_payment_status_changed
from app.quotes import QuoteBook, QuoteUnavailable, token_units_for
from app.refusals import Refused
from app.states import (
    ConcurrentTransition,
    EventType,
    PaymentStatus,
    SessionStatus,
    record_event,
    transition,
    utcnow,
)

log = logging.getLogger("kassa.payments")


class PaymentRefused(Refused):
    """A payment cannot be created (API: 400, or 503 when its network does not answer)."""


def payable_network(
    registry: Registry, livemode: bool, network_key: str, payouts: dict[str, str], param: str
) -> tuple[Network, str]:
    """(network, normalised payout address) if the network is enabled, in the mode and
    payable to the merchant; else PaymentRefused naming the problem (on `param`)."""
    network = registry.network(network_key)
    if network is None:
        enabled = ", ".join(n.key for n in registry.networks_for_mode(livemode)) or "none"
        raise PaymentRefused(
            "network_unavailable",
            f"Network {network_key!r} is not enabled here; enabled: {enabled}.",
            param,
        )
    if network.testnet == livemode:
        raise PaymentRefused(
            "network_mode_mismatch",
            f"Network {network_key!r} is a {'testnet' if network.testnet else 'mainnet'}; "
            f"{'live' if livemode else 'test'}-mode objects use "
            f"{'mainnets' if livemode else 'testnets'} only.",
            param,
        )
    raw = payouts.get(network_key)
    if not raw:
        raise PaymentRefused(
            "payout_address_missing",
            f"The merchant has no payout address on {network_key!r}.",
            param,
        )
    try:
        recipient = network.normalize_address(raw)
    except ValueError:
        raise PaymentRefused(
            "payout_address_invalid",
            f"The merchant's payout address on {network_key!r} is not valid there.",
            param,
        ) from None
    return network, recipient


def payable_token(
    registry: Registry,
    livemode: bool,
    network_key: str,
    symbol: str,
    payouts: dict[str, str],
) -> tuple[Network, Token, str]:
    """(network, token, recipient) if the pair is enabled, in the mode, and payable to the
    merchant; else PaymentRefused naming the problem. Session allow-lists are not checked."""
    network, recipient = payable_network(registry, livemode, network_key, payouts, "network")
    token = registry.token(network_key, symbol)
    if token is None:
        raise PaymentRefused(
            "crypto_currency_unsupported",
            f"{symbol} is not payable on {network_key!r}.",
            "crypto_currency",
        )
    return network, token, recipient


def network_unreachable(network_key: str) -> PaymentRefused:
    return PaymentRefused(
        "network_unreachable", f"Network {network_key!r} does not answer; retry.", status=503
    )


async def unused_on_chain(network: Network, number: int) -> int:
    """`number`, or the first later one the chain has not used (`SessionNumberNetwork`).

    Payments prepared for numbers the chain already used could never succeed.
    """
    if not isinstance(network, SessionNumberNetwork):
        return number
    try:
        return await network.first_unused_session_number(number)
    except RpcError:
        raise network_unreachable(network.key) from None


def _alert_burned_numbers(network: Network, first: int, last: int) -> None:
    """Numbers the chain used that this gateway's database never gave out were burned
    outside it: intents signed with a leaked signer key, or payments made after the backup
    the database was restored from. They are skipped, and the operator must hear of it."""
    log.critical(
        "%s: session numbers %d to %d were already used on the chain and are skipped. "
        "Were intents signed outside this gateway (a leaked signer key: remove it from the "
        "contract and rotate it) or the database restored from an older backup?",
        network.key,
        first,
        last,
    )


async def session_nonce(network: Network, session_id: str) -> int:
    """The session's sequential number on a network (reused by later attempts, so one
    session can be paid at most once per chain); a new one skips numbers the chain used."""
    for _ in range(50):
        existing = await SessionNonce.get_or_none(network=network.key, session_id=session_id)
        if existing is not None:
            # Never moved, even when the chain shows it used: that may be this session's own
            # payment, and a new number would let the session be paid twice.
            return existing.nonce_index
        last = await SessionNonce.filter(network=network.key).order_by("-nonce_index").first()
        candidate = 1 if last is None else last.nonce_index + 1
        index = await unused_on_chain(network, candidate)
        if index != candidate:
            if await SessionNonce.filter(network=network.key, nonce_index__gte=candidate).exists():
                # Another payment of this gateway took the number meanwhile (and was paid
                # already): a race, not a leak. Read the numbers again.
                continue
            _alert_burned_numbers(network, candidate, index - 1)
        try:
            # A savepoint inside the caller's transaction (an Idempotency-Key's): a lost
            # race must not abort that transaction on PostgreSQL, only this attempt.
            async with in_transaction():
                await SessionNonce.create(
                    network=network.key, session_id=session_id, nonce_index=index
                )
            return index
        except IntegrityError:
            continue  # another payment took this index (or this session) first
    raise PaymentRefused(
        "nonce_unavailable", "Could not assign a session nonce; retry.", status=503
    )


def fee_for(amount: int, basis_points: int) -> int:
    """The gateway fee, rounded up like every amount the merchant side receives."""
    return -((-amount * basis_points) // 10_000)


# A pending payment for the same option with at least this much of its window left is
# answered again instead of a new one: a second press of Pay, or the page and the merchant
# both asking, get the payment the shopper may already be paying.
REUSE_MIN_SECONDS = 60
# Rounds of "prepare, then point the session at it" when another request keeps changing the
# session's payment between the two (each round re-reads it).
_CREATE_ATTEMPTS = 3
# Nothing of the payment was seen on chain: no transaction, no money at its deposit address.
# Only such a payment may be expired early, when a new one replaces it.
_NOTHING_SEEN: dict[str, Any] = {"tx_hash": None, "transfer_in_flight": False, "amount_received": 0}


def _seen(payment: Payment) -> bool:
    return (
        payment.tx_hash is not None
        or payment.transfer_in_flight
        or int(payment.amount_received or 0) > 0
    )


def _reusable(
    payment: Payment | None, network_key: str, symbol: str, chain_now: int, remaining: int
) -> bool:
    """The session's current payment still serves (network, symbol): pending, and either
    money for it is on the way or its quote has enough of its window left to be paid."""
    if payment is None or payment.status != PaymentStatus.PENDING:
        return False
    if (payment.network, payment.crypto_currency) != (network_key, symbol):
        return False
    # Near the session's end a new payment could not get a longer window than this one.
    return _seen(payment) or payment.deadline >= chain_now + min(REUSE_MIN_SECONDS, remaining)


async def create_payment(
    session: CheckoutSession,
    network_key: str,
    crypto_currency: str,
    *,
    request_id: str | None = None,
) -> Payment:
    """The session's pending payment on (network, crypto currency), created if needed.

    The session's current payment is answered again while it serves the same option
    (`_reusable`). Otherwise a new one is made: a locked quote, the network's preparation
    (references, authorization, wallet request), then one transaction points the session's
    `payment_id` at it, appends `payment.created`, and expires the payment it replaces
    (`payment.expired`) unless something of that one was seen on chain (then it stays
    pending, so the watcher can still confirm it). The session row is updated only if its
    `payment_id` is still the one read here, so simultaneous requests end with one payment.
    """
    registry = current_registry()
    symbol = crypto_currency.strip().upper()
    if session.status != SessionStatus.OPEN:
        raise _not_open(session.status)
    if network_key not in session.allowed_networks:
        raise PaymentRefused(
            "network_not_allowed",
            f"The checkout session does not allow network {network_key!r}.",
            "network",
        )
    if symbol not in session.allowed_crypto_currencies:
        raise PaymentRefused(
            "crypto_currency_not_allowed",
            f"The checkout session does not allow {symbol}.",
            "crypto_currency",
        )
    merchant = await Merchant.get(id=session.merchant_id)  # type: ignore[attr-defined]
    network, token, recipient = payable_token(
        registry, session.livemode, network_key, symbol, merchant.payout_addresses
    )
    for _ in range(_CREATE_ATTEMPTS):
        current_id = await _open_session_payment_id(session)
        now = utcnow()
        remaining = int((session.expires_at - now).total_seconds())
        if remaining <= 0:
            raise PaymentRefused("checkout_session_expired", "The checkout session has expired.")
        try:
            head = await network.head()
        except RpcError:
            raise network_unreachable(network_key) from None
        # Deadlines are compared with block timestamps: count from chain time.
        chain_now = max(head.timestamp, int(now.timestamp()))
        current = await Payment.get_or_none(id=current_id) if current_id else None
        if _reusable(current, network_key, token.symbol, chain_now, remaining):
            assert current is not None
            return current
        payment = await _prepare(session, network, token, recipient, head, now, remaining)
        if await _point_session_at(session, payment, current_id, current, request_id):
            return payment
    raise PaymentRefused(
        "checkout_session_busy",
        "The checkout session's payment changed while this one was prepared; retry.",
        status=409,
    )


async def _open_session_payment_id(session: CheckoutSession) -> str | None:
    """The session's `payment_id` as stored now (also copied to `session`); refused unless
    the session is still open."""
    row = await CheckoutSession.get(id=session.id).only("id", "status", "payment_id")
    if row.status != SessionStatus.OPEN:
        raise _not_open(row.status)
    session.payment_id = row.payment_id
    return row.payment_id


def _not_open(status: str) -> PaymentRefused:
    return PaymentRefused(
        "checkout_session_not_open",
        f"The checkout session is {status}; only open sessions take payments.",
    )


async def _prepare(
    session: CheckoutSession,
    network: Network,
    token: Token,
    recipient: str,
    head: Block,
    now: dt.datetime,
    remaining: int,
) -> Payment:
    """A new payment (not saved yet): the locked quote, the core's terms, the network's
    preparation of them."""
    registry = current_registry()
    settings = registry.settings
    network_key = network.key
    symbol = token.symbol
    fiat = FiatAmount(session.amount_fiat_cents, session.fiat_currency)
    try:
        quote = await registry.quote_book.quote(symbol, fiat.currency, now)
    except QuoteUnavailable as error:
        raise PaymentRefused("quote_unavailable", str(error), "crypto_currency", 503) from None
    amount = token_units_for(fiat, quote.rate, token)  # rounded up to its display precision
    chain_now = max(head.timestamp, int(now.timestamp()))
    deadline = chain_now + min(remaining, settings.payment_window_seconds)
    network_settings = settings.networks.get(network_key)
    basis_points = network_settings.fee_basis_points if network_settings else 0
    fee = fee_for(amount, basis_points)
    payment_id = new_id("pay")
    terms = PaymentTerms(
        payment_id=payment_id,
        session_id=session.id,
        session_number=await session_nonce(network, session.id),
        token=token,
        amount=amount,
        fee=fee,
        fee_basis_points=basis_points,
        recipient=recipient,
        deadline=deadline,
    )
    try:
        prepared = await network.prepare_payment(terms)
    except RpcError:
        raise network_unreachable(network_key) from None
    payment = Payment(
        id=payment_id,
        session_id=session.id,
        merchant_id=session.merchant_id,  # type: ignore[attr-defined]
        livemode=session.livemode,
        status=PaymentStatus.PENDING,
        network=network_key,
        crypto_currency=token.symbol,
        token_address=token.address,
        amount_base_units=amount,
        decimals=token.decimals,
        amount_fiat_cents=fiat.minor_units,
        fiat_currency=fiat.currency,
        quote_rate=str(quote.rate),
        quote_source=quote.source,
        quote_at=quote.at,
        session_nonce=terms.session_number,
        payment_ref=prepared.reference,
        session_ref=prepared.session_reference,
        recipient=recipient,
        fee_base_units=fee,
        deadline=deadline,
        authorization=prepared.authorization,
        wallet_request=prepared.wallet_request,
        payment_uri=prepared.payment_uri,
        deposit_address=prepared.deposit_address or None,
        deposit_terms=prepared.deposit_terms or None,
        created_block=head.number,
        created_at=now,
        updated_at=now,
    )
    confirmations = registry.pm.hook.min_confirmations(network=network, token=token, amount=amount)
    payment.min_confirmations = int(confirmations)
    return payment


async def _point_session_at(
    session: CheckoutSession,
    payment: Payment,
    expected_id: str | None,
    replaced: Payment | None,
    request_id: str | None,
) -> bool:
    """Save `payment` and make it the session's, if the session is still open and its
    `payment_id` is still `expected_id`; False (nothing written) when another request
    changed it first. The replaced payment is expired in the same transaction unless
    something of it was seen (checked in the UPDATE itself, so a transaction the watcher
    records meanwhile keeps it pending)."""
    notifications: list[tuple[Payment, Event]] = []
    async with in_transaction() as conn:
        # PostgreSQL: a concurrent twin's UPDATE waits for this row lock, then finds
        # payment_id changed and updates nothing. SQLite: transactions run one at a time.
        updated = (
            await CheckoutSession.filter(
                id=session.id, status=SessionStatus.OPEN, payment_id=expected_id
            )
            .using_db(conn)
            .update(payment_id=payment.id, updated_at=payment.updated_at)
        )
        if updated != 1:
            return False
        await payment.save(using_db=conn, force_create=True)
        created = await record_event(
            payment, EventType.PAYMENT_CREATED, request_id=request_id, connection=conn
        )
        notifications.append((payment, created))
        if replaced is not None and replaced.status == PaymentStatus.PENDING:
            try:
                expired = await transition(
                    replaced,
                    PaymentStatus.EXPIRED,
                    EventType.PAYMENT_EXPIRED,
                    request_id=request_id,
                    connection=conn,
                    only_if=_NOTHING_SEEN,
                )
                notifications.append((replaced, expired))
            except ConcurrentTransition:
                log.info("payment %s was seen on chain: it stays pending", replaced.id)
    session.payment_id = payment.id
    for changed, event in notifications:
        await notify_payment_status_changed(current_registry().pm, changed, event)
    return True


async def check_session_options(
    merchant: Merchant, livemode: bool, networks: list[str], currencies: list[str]
) -> None:
    """At session creation: every allowed network is enabled, in the key's mode and payable
    to the merchant, and every currency is payable on one of them; else PaymentRefused.
    """
    registry = current_registry()
    for key in networks:
        payable_network(registry, livemode, key, merchant.payout_addresses, "allowed_networks")
    for symbol in currencies:
        if not any(registry.token(key, symbol) is not None for key in networks):
            raise PaymentRefused(
                "crypto_currency_unsupported",
                f"{symbol} is not payable on any of the allowed networks.",
                "allowed_crypto_currencies",
            )


def check_session_currency(
    fiat_currency: str, networks: list[str], currencies: list[str], param: str = "fiat_currency"
) -> None:
    """At session creation: some enabled price source (or two, through a cross rate) can
    price `fiat_currency` for at least one allowed token; else PaymentRefused
    `currency_unsupported`, so the session fails now rather than at Pay.

    Decided from what the sources declare they quote: no source is asked over the network.
    """
    registry = current_registry()
    book = registry.quote_book
    if not isinstance(book, QuoteBook):
        book = QuoteBook(registry.price_sources, registry.settings.quote_cache_max_age_seconds)
    symbols = [
        symbol.upper()
        for symbol in currencies
        if any(registry.token(key, symbol) is not None for key in networks)
    ]
    if any(book.can_quote(symbol, fiat_currency) for symbol in symbols):
        return
    raise PaymentRefused(
        "currency_unsupported",
        f"No enabled price source can price {', '.join(symbols) or 'the allowed currencies'} "
        f"in {fiat_currency}; choose another currency, or add a rate for {fiat_currency} "
        "(fixed_rates, ecb_enabled or chainlink_feeds).",
        param,
    )
