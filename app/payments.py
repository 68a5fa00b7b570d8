"""Creating payments: checks, locked quote, the network's preparation, event.

`create_payment` is the one service both the merchant API and the hosted checkout call.
The core decides the terms (amount from the locked quote, fee, recipient, deadline); the
network plugin turns them into its own references and wallet instructions.
"""

from __future__ import annotations

import logging

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.models import CheckoutSession, Merchant, Payment, SessionNonce, new_id
from app.money import FiatAmount
from app.networks import (
    Network,
    PaymentTerms,
    Registry,
    RpcError,
    SessionNumberNetwork,
    Token,
    current_registry,
)
from app.plugins import notify_payment_status_changed
from app.quotes import QuoteUnavailable, crypto_units_for
from app.states import EventType, PaymentStatus, SessionStatus, record_event, utcnow

log = logging.getLogger("kassa.payments")


class PaymentRefused(Exception):
    """The payment cannot be created; `code`/`param` name the reason (API: 400 or 503)."""

    def __init__(self, code: str, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.status = status


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

    Numbers the chain already used were burned outside this gateway's database: intents
    signed with a leaked signer key, or payments made after the backup the database was
    restored from. Payments prepared for them could never succeed, so they are skipped, and
    the operator hears about it: either cause needs them.
    """
    if not isinstance(network, SessionNumberNetwork):
        return number
    try:
        unused = await network.first_unused_session_number(number)
    except RpcError:
        raise network_unreachable(network.key) from None
    if unused != number:
        log.critical(
            "%s: session numbers %d to %d were already used on the chain and are skipped. "
            "Were intents signed outside this gateway (a leaked signer key: remove it from the "
            "contract and rotate it) or the database restored from an older backup?",
            network.key,
            number,
            unused - 1,
        )
    return unused


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
        index = await unused_on_chain(network, 1 if last is None else last.nonce_index + 1)
        try:
            await SessionNonce.create(network=network.key, session_id=session_id, nonce_index=index)
            return index
        except IntegrityError:
            continue  # another payment took this index (or this session) first
    raise PaymentRefused(
        "nonce_unavailable", "Could not assign a session nonce; retry.", status=503
    )


def fee_for(amount: int, basis_points: int) -> int:
    """The gateway fee, rounded up like every amount the merchant side receives."""
    return -((-amount * basis_points) // 10_000)


async def create_payment(
    session: CheckoutSession,
    network_key: str,
    crypto_currency: str,
    *,
    request_id: str | None = None,
) -> Payment:
    """Create a pending payment for `session` on (network, crypto currency).

    Locks a quote, has the network prepare the payment (references, authorization, wallet
    request), then points the session's `payment_id` at it and appends `payment.created` in
    one transaction.
    """
    registry = current_registry()
    settings = registry.settings
    symbol = crypto_currency.strip().upper()
    if session.status != SessionStatus.OPEN:
        raise PaymentRefused(
            "checkout_session_not_open",
            f"The checkout session is {session.status}; only open sessions take payments.",
        )
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
    now = utcnow()
    remaining = int((session.expires_at - now).total_seconds())
    if remaining <= 0:
        raise PaymentRefused("checkout_session_expired", "The checkout session has expired.")
    fiat = FiatAmount(session.amount_fiat_cents, session.fiat_currency)
    try:
        quote = await registry.quote_book.quote(symbol, fiat.currency, now)
    except QuoteUnavailable as error:
        raise PaymentRefused("quote_unavailable", str(error), "crypto_currency", 503) from None
    amount = crypto_units_for(fiat, quote.rate, token.decimals)
    try:
        head = await network.head()
    except RpcError:
        raise network_unreachable(network_key) from None
    # Deadlines are compared with block timestamps: count from chain time.
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
    pm = registry.pm
    confirmations = pm.hook.min_confirmations(network=network, token=token, amount=amount)
    payment.min_confirmations = int(confirmations)
    async with in_transaction() as conn:
        updated = (
            await CheckoutSession.filter(id=session.id, status=SessionStatus.OPEN)
            .using_db(conn)
            .update(payment_id=payment.id, updated_at=now)
        )
        if updated != 1:
            raise PaymentRefused(
                "checkout_session_not_open", "The checkout session is no longer open."
            )
        await payment.save(using_db=conn, force_create=True)
        event = await record_event(
            payment, EventType.PAYMENT_CREATED, request_id=request_id, connection=conn
        )
    session.payment_id = payment.id
    await notify_payment_status_changed(pm, payment, event)
    return payment


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
