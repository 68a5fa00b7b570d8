"""Chain watcher throughput and confirmation latency on a local anvil.

    .venv/bin/python bench/watcher.py [--blocks 10000] [--every 100] [--trials 20]
                                      [--deposits 10000] [--sections catch_up,deposits]
                                      [--database-url URL] [--json]

1. Catch-up: creates payments, then builds a chain of `--blocks` blocks where one block in
   `--every` holds a payment (1 % by default), and times a fresh watcher scanning all of it
   (`poll_once()` until the cursor reaches the head): blocks/s, and every payment confirmed.
2. Latency: with the watcher running as in `kassa serve` (its loop, `--poll-interval`),
   pays `--trials` payments needing 3 confirmations and measures the delay from mining the
   block that makes each payment final to a plugin hearing its `payment.confirmed` event.
3. Seen: the delay from a payment's transaction being mined to a plugin hearing
   `payment.pending`, with the watcher loop alone (polled) and with the checkout's tx-hash
   hint (`follow_tx_hint`, as `POST /checkout/{id}/tx` does) beside it.
4. Deposits, on a fresh anvil with the deposit factory enabled: `--deposits` open USDC
   payments (10,000 by default: all but `--honest-deposits` bulk-created with the columns
   `create_payment` writes, from the plugin's own `prepare_payment`; then the last ones
   through `create_payment`), `--deposits-paid` of them paid by plain ERC-20 transfers spread
   over `--blocks` blocks, and a fresh watcher timed catching up (every paid payment
   confirmed); then the steady-state poll (one new block, no transfers; median of
   `--steady-polls`) with all those addresses watched, its parts timed alone, and the same
   with `--native-deposits` more open ETH payments (their balances are asked in JSON-RPC
   batches every poll). `--sections` runs a subset.
Uses a fresh SQLite database by default (or `--database-url postgres://…/db`, which must be
an empty database).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# The anvil and chain helpers live in tests/; this script runs as a file.
sys.path.insert(0, str(REPO_ROOT))

from eth_abi import encode as abi_encode  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_utils import keccak  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from app import deposits  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import close_database, migrate, open_database  # noqa: E402
from app.hookspecs import hookimpl  # noqa: E402
from app.models import (  # noqa: E402
    ChainCursor,
    ChainObservation,
    CheckoutSession,
    Merchant,
    Payment,
    SessionNonce,
    new_id,
)
from app.money import FiatAmount  # noqa: E402
from app.networks import PaymentTerms, Registry  # noqa: E402
from app.objects import payment_object  # noqa: E402
from app.payments import create_payment, fee_for  # noqa: E402
from app.plugins import start_registry  # noqa: E402
from app.quotes import token_units_for  # noqa: E402
from app.states import PaymentStatus, SessionStatus, utcnow  # noqa: E402
from app.watcher import ChainWatcher, follow_tx_hint, run_watcher  # noqa: E402
from plugins.evm.anvil import AnvilNode  # noqa: E402
from plugins.evm.deposit_network import (  # noqa: E402
    ADDRESS_BATCH,
    BALANCE_BATCH,
    EvmDepositNetwork,
)
from tests.chain import DEVNET, DevChain, deploy_devchain, devnet_settings  # noqa: E402


def session_row(merchant: Merchant, payment_id: str | None = None) -> CheckoutSession:
    """An open test-mode session of 25.00 USD (not saved)."""
    now = utcnow()
    session_id = new_id("cs_test")
    return CheckoutSession(
        id=session_id,
        merchant=merchant,
        livemode=False,
        status=SessionStatus.OPEN,
        amount_fiat_cents=2500,
        fiat_currency="USD",
        allowed_crypto_currencies=["ETH", "USDC"],
        allowed_networks=[DEVNET],
        checkout_url=f"http://127.0.0.1/checkout/{session_id}",
        success_url="https://shop.example/ok",
        cancel_url="https://shop.example/cancel",
        payment_id=payment_id,
        expires_at=now + dt.timedelta(days=1),
        created_at=now,
        updated_at=now,
    )


async def new_session(merchant: Merchant) -> CheckoutSession:
    session = session_row(merchant)
    await session.save(force_create=True)
    return session


async def presigned_pay(chain: DevChain, payment: dict[str, Any], nonce: int) -> bytes:
    account = Account.from_key(chain.payer_key)
    tx = {
        "from": account.address,
        "to": payment["to_contract"],
        "data": payment["data"],
        "value": int(payment["value"]),
        "nonce": nonce,
        "chainId": chain.node.chain_id,
        "gas": 300_000,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    return bytes(account.sign_transaction(tx).raw_transaction)


async def catch_up(chain: DevChain, merchant: Merchant, settings: Settings, args: Any) -> dict:
    registry = start_registry(settings)
    count = args.blocks // args.every
    payments = []
    for _ in range(count):
        created = await create_payment(await new_session(merchant), DEVNET, "ETH")
        payments.append(payment_object(created))
    payer = Account.from_key(chain.payer_key).address
    nonce = await chain.w3.eth.get_transaction_count(payer)
    start_block = await chain.head()
    for index, payment in enumerate(payments):
        # `every - 1` empty blocks at the same timestamp, then the payment's block.
        await chain.rpc("anvil_mine", hex(args.every - 1), "0x0")
        raw = await presigned_pay(chain, payment, nonce + index)
        tx_hash = await chain.w3.eth.send_raw_transaction(raw)
        # Mined before the next blocks (and before the head is read for the last one).
        await chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    await chain.rpc("anvil_mine", hex(args.blocks - count * args.every), "0x0")
    head = await chain.head()
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    started = time.perf_counter()
    polls = retries = 0
    while True:
        step = await watcher.poll_once()
        polls += 1
        retries += step.retry
        cursor = await ChainCursor.get(network=DEVNET)
        if (
            cursor.block_number >= head
            and not await Payment.filter(status="pending", tx_hash__not_isnull=True).exists()
        ):
            break
    elapsed = time.perf_counter() - started
    confirmed = await Payment.filter(status="confirmed").count()
    for row in await Payment.exclude(status="confirmed"):
        print(f"not confirmed: {row.id} {row.status} tx={row.tx_hash}", file=sys.stderr)
    await registry.close()
    return {
        "blocks": head - start_block,
        "payments": count,
        "confirmed": confirmed,
        "seconds": round(elapsed, 3),
        "blocks_per_second": round((head - start_block) / elapsed, 1),
        "polls": polls,
        "retried_polls": retries,
        "max_log_range": registry.networks[DEVNET].max_scan_range,
    }


class EventSignal:
    """A plugin that hears one payment event type (after commit) as merchants' code would."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        self.confirmed: dict[str, asyncio.Event] = {}

    def _event(self, payment_id: str) -> asyncio.Event:
        return self.confirmed.setdefault(payment_id, asyncio.Event())

    @hookimpl
    def payment_status_changed(self, payment: Any, event: Any) -> None:
        if event.type == self.event_type:
            self._event(payment.id).set()

    async def wait_for(self, payment_id: str) -> None:
        await self._event(payment_id).wait()


async def latency(chain: DevChain, merchant: Merchant, settings: Settings, args: Any) -> dict:
    signal = EventSignal("payment.confirmed")
    registry = start_registry(settings, [signal])
    network = registry.networks[DEVNET]
    task = asyncio.create_task(run_watcher(network, registry, settings.database_url))
    delays = []
    try:
        for _ in range(args.trials):
            payment = payment_object(
                await create_payment(await new_session(merchant), DEVNET, "USDC")
            )
            await chain.pay(payment)
            await chain.mine(payment["min_confirmations"] - 1)
            final_at = time.perf_counter()  # the block that makes the payment final is mined
            await asyncio.wait_for(signal.wait_for(payment["id"]), timeout=30)
            delays.append(time.perf_counter() - final_at)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await registry.close()
    delays.sort()
    return {
        "trials": len(delays),
        "min_confirmations": 3,
        "poll_interval_seconds": network.poll_interval,
        "median_ms": round(statistics.median(delays) * 1000, 1),
        "p95_ms": round(delays[int(len(delays) * 0.95) - 1] * 1000, 1),
        "max_ms": round(delays[-1] * 1000, 1),
    }


def summary(delays: list[float]) -> dict[str, float]:
    delays = sorted(delays)
    return {
        "median_ms": round(statistics.median(delays) * 1000, 1),
        "p95_ms": round(delays[max(0, int(len(delays) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(delays[-1] * 1000, 1),
    }


async def seen_latency(
    chain: DevChain, merchant: Merchant, settings: Settings, args: Any, hinted: bool
) -> dict[str, float]:
    """Mined transaction -> `payment.pending`, by the poll alone or with the hint."""
    signal = EventSignal("payment.pending")
    registry = start_registry(settings, [signal])
    network = registry.networks[DEVNET]
    task = asyncio.create_task(run_watcher(network, registry, settings.database_url))
    delays = []
    try:
        for _ in range(args.trials):
            payment = payment_object(
                await create_payment(await new_session(merchant), DEVNET, "USDC")
            )
            tx_hash = await chain.pay(payment)  # returns once the receipt (the block) exists
            mined_at = time.perf_counter()
            if hinted:
                follow_tx_hint(network, payment["id"], tx_hash)
            await asyncio.wait_for(signal.wait_for(payment["id"]), timeout=30)
            delays.append(time.perf_counter() - mined_at)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await registry.close()
    return summary(delays)


# ------------------------------------------------------------------------ deposit addresses

TRANSFER_SELECTOR = keccak(text="transfer(address,uint256)")[:4]


async def bulk_deposit_payments(
    registry: Registry, merchant: Merchant, count: int, symbol: str
) -> list[Payment]:
    """`count` open payments with the columns `create_payment` writes, in a few bulk inserts.

    Each is prepared by the network plugin itself (`prepare_payment`: the signed intent and
    the CREATE2 deposit address, as `compute_deposit_address` derives it from `DepositTerms`);
    only the database writes are batched, and no `payment.created` event is appended (the
    watcher never reads events).
    """
    settings = registry.settings
    network = registry.networks[DEVNET]
    token = registry.token(DEVNET, symbol)
    assert token is not None
    recipient = network.normalize_address(merchant.payout_addresses[DEVNET])
    now = utcnow()
    fiat = FiatAmount(2500, "USD")
    quote = await registry.quote_book.quote(symbol, fiat.currency, now)
    amount = token_units_for(fiat, quote.rate, token)
    head = await network.head()
    deadline = max(head.timestamp, int(now.timestamp())) + settings.payment_window_seconds
    network_settings = settings.networks[DEVNET]
    basis_points = network_settings.fee_basis_points
    fee = fee_for(amount, basis_points)
    confirmations = int(
        registry.pm.hook.min_confirmations(network=network, token=token, amount=amount)
    )
    last = await SessionNonce.filter(network=DEVNET).order_by("-nonce_index").first()
    first_index = 1 if last is None else last.nonce_index + 1
    sessions: list[CheckoutSession] = []
    nonces: list[SessionNonce] = []
    payments: list[Payment] = []
    for index in range(first_index, first_index + count):
        payment_id = new_id("pay")
        session = session_row(merchant, payment_id)
        terms = PaymentTerms(
            payment_id=payment_id,
            session_id=session.id,
            session_number=index,
            token=token,
            amount=amount,
            fee=fee,
            fee_basis_points=basis_points,
            recipient=recipient,
            deadline=deadline,
        )
        prepared = await network.prepare_payment(terms)
        sessions.append(session)
        nonces.append(SessionNonce(network=DEVNET, session_id=session.id, nonce_index=index))
        payments.append(
            Payment(
                id=payment_id,
                session_id=session.id,
                merchant_id=merchant.id,
                livemode=False,
                status=PaymentStatus.PENDING,
                network=DEVNET,
                crypto_currency=token.symbol,
                token_address=token.address,
                amount_base_units=amount,
                decimals=token.decimals,
                amount_fiat_cents=fiat.minor_units,
                fiat_currency=fiat.currency,
                quote_rate=str(quote.rate),
                quote_source=quote.source,
                quote_at=quote.at,
                session_nonce=index,
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
                min_confirmations=confirmations,
                created_block=head.number,
                created_at=now,
                updated_at=now,
            )
        )
    async with in_transaction() as conn:
        await CheckoutSession.bulk_create(sessions, batch_size=1000, using_db=conn)
        await SessionNonce.bulk_create(nonces, batch_size=1000, using_db=conn)
        await Payment.bulk_create(payments, batch_size=1000, using_db=conn)
    return payments


async def open_deposit_payments(
    registry: Registry, merchant: Merchant, count: int, honest: int, symbol: str
) -> tuple[list[Payment], dict[str, Any]]:
    """The rest bulk-created, then the last `honest` through `create_payment` (timed with
    the others already in the database)."""
    honest = min(honest, count)
    started = time.perf_counter()
    payments = await bulk_deposit_payments(registry, merchant, count - honest, symbol)
    bulk_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(honest):
        payments.append(await create_payment(await new_session(merchant), DEVNET, symbol))
    honest_seconds = time.perf_counter() - started
    assert all(p.deposit_address for p in payments)
    assert len({p.deposit_address for p in payments}) == count
    return payments, {
        "created": count,
        "through_create_payment": honest,
        "create_payment_ms_each": round(honest_seconds / max(1, honest) * 1000, 2),
        "bulk_created": count - honest,
        "bulk_ms_each": round(bulk_seconds / max(1, count - honest) * 1000, 2),
        "setup_seconds": round(honest_seconds + bulk_seconds, 1),
    }


def transfer_data(to: str, amount: int) -> str:
    return "0x" + (TRANSFER_SELECTOR + abi_encode(["address", "uint256"], [to, amount])).hex()


async def pay_deposits(
    chain: DevChain, payments: list[Payment], blocks: int, token: str | None
) -> int:
    """Exchange-style plain transfers of each payment's total to its deposit address, one
    block each, spread evenly over about `blocks` blocks; returns the head."""
    sender = Account.from_key(chain.exchange_key)
    totals = [p.amount_base_units + p.fee_base_units for p in payments]
    if token is not None:
        # Minted to the exchange account (sent to itself), then paid out of it.
        await chain.transfer(sender.address, sum(totals), token)
    nonce = await chain.w3.eth.get_transaction_count(sender.address)
    raws = []
    for index, (payment, total) in enumerate(zip(payments, totals, strict=True)):
        tx: dict[str, Any] = {
            "from": sender.address,
            "nonce": nonce + index,
            "chainId": chain.node.chain_id,
            "maxFeePerGas": 50 * 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        if token is None:
            tx.update(to=payment.deposit_address, value=total, gas=21_000)
        else:
            tx.update(
                to=token,
                value=0,
                gas=100_000,
                data=transfer_data(payment.deposit_address or "", total),
            )
        raws.append(bytes(sender.sign_transaction(tx).raw_transaction))
    gap = max(1, blocks // max(1, len(payments)))
    for raw in raws:
        await chain.rpc("anvil_mine", hex(gap - 1), "0x0")
        tx_hash = await chain.w3.eth.send_raw_transaction(raw)
        receipt = await chain.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, receipt
    return await chain.head()


async def timed_poll(watcher: ChainWatcher, chain: DevChain) -> float:
    """One new empty block, then one poll: what watching costs when nothing arrives."""
    await chain.mine(1)
    started = time.perf_counter()
    step = await watcher.poll_once()
    elapsed = time.perf_counter() - started
    assert not step.retry and not step.confirmed, step
    return elapsed


async def best_of(times: int, step: Callable[[], Awaitable[object]]) -> float:
    """The fastest of `times` runs of `step`, in seconds (the machine's noise left out)."""
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        await step()
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


async def poll_parts(watcher: ChainWatcher) -> dict[str, float]:
    """The steady-state poll's main costs, each timed alone (best of 3, the watcher idle):
    loading the watched payments, one block's `Transfer`/`Swept` logs for all their
    addresses, the native balances of the ETH ones at one block, the amounts per address
    (observations, native balances), and `credit` (totals, then each payment compared;
    nothing changes)."""
    network = watcher.network
    assert isinstance(network, EvmDepositNetwork)
    block = (await ChainCursor.get(network=DEVNET)).block_number
    watched = await deposits.watched_payments(DEVNET)
    addresses = sorted(p.deposit_address or "" for p in watched)
    native = [p.deposit_address or "" for p in watched if p.token_address is None]
    policy = watcher.finality
    return {
        "load_watched_seconds": await best_of(3, lambda: deposits.watched_payments(DEVNET)),
        "get_logs_seconds": await best_of(
            3, lambda: network.observe_deposits(block, block, addresses)
        ),
        "native_balances_seconds": await best_of(3, lambda: network.native_balances(native, block)),
        "totals_seconds": await best_of(
            3, lambda: deposits.totals(network, watched, block, policy, None)
        ),
        "credit_seconds": await best_of(
            3, lambda: deposits.credit(network, watched, block, policy, None, 0)
        ),
    }


async def settle(chain: DevChain, settings: Settings) -> None:
    """Confirm what earlier sections left pending (seen, not final yet) on their chain."""
    registry = start_registry(settings)
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    await chain.mine(3)
    while await Payment.filter(status=PaymentStatus.PENDING, tx_hash__not_isnull=True).exists():
        await watcher.poll_once()
    await registry.close()


# The deposit section's own anvil. The contracts are compiled for cancun; under anvil's
# default (prague) each block also writes the EIP-2935 block-hash history, and mining 10,000
# blocks takes about 70 s instead of 15 s.
DEPOSIT_ANVIL_ARGS = ["--slots-in-an-epoch", "1", "--hardfork", "cancun"]


async def deposit_section(base: Settings, args: Any) -> dict:
    """Deposit-address crediting on a fresh chain, with a fresh watcher cursor."""
    node = AnvilNode(extra_args=DEPOSIT_ANVIL_ARGS).start()
    try:
        chain = await deploy_devchain(node)
        settings = devnet_settings(
            base,
            chain,
            max_log_range=args.max_log_range,
            deposit_factory=chain.deposit_factory,
            sweeper_key=chain.sweeper_key,
        )
        merchant = await Merchant.create(
            id=new_id("mer"), name="Bench deposits", payout_addresses={DEVNET: chain.merchant}
        )
        await ChainCursor.filter(network=DEVNET).delete()
        result = await deposit_throughput(chain, merchant, settings, args)
        await chain.w3.provider.disconnect()  # type: ignore[attr-defined]
    finally:
        node.stop()
    return result


async def deposit_throughput(
    chain: DevChain, merchant: Merchant, settings: Settings, args: Any
) -> dict:
    registry = start_registry(settings)
    network = registry.networks[DEVNET]
    payments, created = await open_deposit_payments(
        registry, merchant, args.deposits, args.honest_deposits, "USDC"
    )
    step = max(1, len(payments) // max(1, args.deposits_paid))
    paid = payments[::step][: args.deposits_paid]
    # Where a fresh watcher's cursor starts: the oldest open payment's block.
    oldest = (
        await Payment.filter(status=PaymentStatus.PENDING)
        .exclude(created_block=None)
        .order_by("created_block")
        .first()
    )
    assert oldest is not None and oldest.created_block is not None
    start_block = oldest.created_block
    paying = time.perf_counter()
    head = await pay_deposits(chain, paid, args.blocks, chain.token_address("usdc"))
    created["pay_seconds"] = round(time.perf_counter() - paying, 1)
    watcher = ChainWatcher(network, registry)
    paid_ids = [p.id for p in paid]
    started = time.perf_counter()
    polls = retries = 0
    while True:
        result = await watcher.poll_once()
        polls += 1
        retries += result.retry
        cursor = await ChainCursor.get(network=DEVNET)
        done = await Payment.filter(id__in=paid_ids, status="confirmed").count()
        if cursor.block_number >= head and done == len(paid):
            break
    elapsed = time.perf_counter() - started
    credited = await ChainObservation.filter(
        network=DEVNET, kind="transfer", canonical=True, payment_id__in=paid_ids
    ).count()
    # Nothing else was credited: the unpaid addresses still hold nothing.
    assert await Payment.filter(amount_received__gt=0).count() == len(paid)
    watched = len(await deposits.watched_payments(DEVNET))
    steady = sorted([await timed_poll(watcher, chain) for _ in range(args.steady_polls)])
    parts = await poll_parts(watcher)

    # The native-balance path: open ETH payments' balances are asked every poll.
    native, native_created = await open_deposit_payments(
        registry, merchant, args.native_deposits, 0, "ETH"
    )
    native_paid = native[:: max(1, len(native) // max(1, args.native_paid))][: args.native_paid]
    await pay_deposits(chain, native_paid, len(native_paid), None)
    native_started = time.perf_counter()
    native_polls = 0
    while await Payment.filter(
        id__in=[p.id for p in native_paid], status="confirmed"
    ).count() < len(native_paid):
        native_polls += 1
        assert native_polls <= 20, "the native payments were not credited"
        await watcher.poll_once()
    native_catch_up = time.perf_counter() - native_started
    native_watched = len(await deposits.watched_payments(DEVNET))
    native_steady = sorted([await timed_poll(watcher, chain) for _ in range(args.steady_polls)])
    native_parts = await poll_parts(watcher)
    await registry.close()
    return {
        "setup": created,
        "start_block": start_block,
        "blocks": head - start_block,
        "watched_addresses": watched,
        "paid": len(paid),
        "credited_transfers": credited,
        "confirmed": done,
        "seconds": round(elapsed, 3),
        "blocks_per_second": round((head - start_block) / elapsed, 1),
        "polls": polls,
        "retried_polls": retries,
        "max_log_range": network.max_scan_range,
        "address_batch": ADDRESS_BATCH,
        "steady_poll_seconds": round(statistics.median(steady), 3),
        "steady_polls": len(steady),
        "steady_parts": parts,
        "native": {
            "setup": native_created,
            "watched_addresses": native_watched,
            "native_addresses": len(native),
            "paid": len(native_paid),
            "catch_up_seconds": round(native_catch_up, 3),
            "steady_poll_seconds": round(statistics.median(native_steady), 3),
            "steady_parts": native_parts,
            "balance_batch": BALANCE_BATCH,
        },
    }


async def main(args: Any) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="kassa-bench-"))
    database_url = args.database_url or f"sqlite://{workdir / 'kassa.db'}"
    await migrate(database_url)
    await open_database(database_url)
    node = AnvilNode(extra_args=["--slots-in-an-epoch", "1"]).start()
    try:
        chain = await deploy_devchain(node)
        base = Settings(database_url=database_url, payment_window_seconds=86_400)
        merchant = await Merchant.create(
            id=new_id("mer"), name="Bench", payout_addresses={DEVNET: chain.merchant}
        )
        result: dict[str, Any] = {"database": database_url.split(":", 1)[0]}
        if "catch_up" in args.sections:
            result["catch_up"] = await catch_up(
                chain,
                merchant,
                devnet_settings(base, chain, max_log_range=args.max_log_range),
                args,
            )
        if "latency" in args.sections:
            result["latency"] = await latency(
                chain,
                merchant,
                devnet_settings(
                    base, chain, confirmations=3, poll_interval_seconds=args.poll_interval
                ),
                args,
            )
        if "seen" in args.sections:
            seen_settings = devnet_settings(
                base, chain, confirmations=3, poll_interval_seconds=args.poll_interval
            )
            result["seen"] = {
                "trials": args.trials,
                "poll_interval_seconds": args.poll_interval,
                "polled": await seen_latency(chain, merchant, seen_settings, args, hinted=False),
                "hinted": await seen_latency(chain, merchant, seen_settings, args, hinted=True),
            }
        if "deposits" in args.sections and args.deposits > 0:
            await settle(chain, devnet_settings(base, chain))
            result["deposits"] = await deposit_section(base, args)
        await chain.w3.provider.disconnect()  # type: ignore[attr-defined]
    finally:
        node.stop()
        await close_database()
    return result


def report(result: dict[str, Any]) -> None:
    """One text line per figure."""
    print(f"database: {result['database']}")
    if "catch_up" in result:
        scan = result["catch_up"]
        print(
            f"catch-up: {scan['blocks']} blocks, {scan['payments']} payments "
            f"({scan['confirmed']} confirmed) in {scan['seconds']} s = "
            f"{scan['blocks_per_second']} blocks/s ({scan['polls']} polls, "
            f"getLogs chunks of {scan['max_log_range']} blocks)"
        )
    if "latency" in result:
        live = result["latency"]
        print(
            f"final block -> payment.confirmed ({live['trials']} payments, "
            f"{live['min_confirmations']} confirmations, poll every "
            f"{live['poll_interval_seconds']} s): median {live['median_ms']} ms, "
            f"p95 {live['p95_ms']} ms, max {live['max_ms']} ms"
        )
    if "seen" in result:
        seen = result["seen"]
        for how in ("polled", "hinted"):
            figures = seen[how]
            print(
                f"tx mined -> payment.pending, {how} ({seen['trials']} payments, poll every "
                f"{seen['poll_interval_seconds']} s): median {figures['median_ms']} ms, "
                f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms"
            )
    if "deposits" in result:
        dep = result["deposits"]
        setup = dep["setup"]
        print(
            f"deposits setup: {setup['created']} open USDC payments with deposit addresses, "
            f"{setup['through_create_payment']} through create_payment "
            f"({setup['create_payment_ms_each']} ms each), {setup['bulk_created']} "
            f"bulk-created with the same columns ({setup['bulk_ms_each']} ms each, "
            f"prepare_payment + bulk insert), {setup['setup_seconds']} s; "
            f"{dep['paid']} of them paid by ERC-20 transfers over {dep['blocks']} blocks in "
            f"{setup['pay_seconds']} s (fresh anvil, --hardfork cancun)"
        )
        print(
            f"deposits catch-up: {dep['blocks']} blocks, {dep['watched_addresses']} deposit "
            f"addresses watched, {dep['credited_transfers']} transfers credited "
            f"({dep['confirmed']}/{dep['paid']} confirmed) in {dep['seconds']} s = "
            f"{dep['blocks_per_second']} blocks/s ({dep['polls']} polls, getLogs chunks of "
            f"{dep['max_log_range']} blocks x {dep['address_batch']} addresses per filter)"
        )
        print(
            f"deposits steady-state poll (1 new block, no transfers, "
            f"{dep['watched_addresses']} addresses watched): {dep['steady_poll_seconds']} s "
            f"(median of {dep['steady_polls']}; alone: {parts_text(dep['steady_parts'])})"
        )
        native = dep["native"]
        print(
            f"deposits native path: +{native['native_addresses']} open ETH payments "
            f"({native['paid']} paid, credited in {native['catch_up_seconds']} s); "
            f"steady-state poll with {native['watched_addresses']} addresses watched: "
            f"{native['steady_poll_seconds']} s (balances in batches of "
            f"{native['balance_batch']}; alone: {parts_text(native['steady_parts'])})"
        )


def parts_text(parts: dict[str, float]) -> str:
    return ", ".join(f"{name.removesuffix('_seconds')} {value} s" for name, value in parts.items())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=100, help="one payment per this many blocks")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument(
        "--max-log-range", type=int, default=None, help="eth_getLogs chunk (devnet: 10000)"
    )
    parser.add_argument("--deposits", type=int, default=10_000, help="open deposit addresses")
    parser.add_argument(
        "--honest-deposits",
        type=int,
        default=100,
        help="of those, created through create_payment (the rest bulk-created)",
    )
    parser.add_argument("--deposits-paid", type=int, default=100, help="paid by plain transfers")
    parser.add_argument("--native-deposits", type=int, default=1_000, help="open ETH payments")
    parser.add_argument("--native-paid", type=int, default=10)
    parser.add_argument("--steady-polls", type=int, default=5)
    parser.add_argument(
        "--sections",
        type=lambda text: text.split(","),
        default=["catch_up", "latency", "seen", "deposits"],
        help="comma-separated: catch_up,latency,seen,deposits",
    )
    parser.add_argument("--database-url")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    output = asyncio.run(main(arguments))
    if arguments.json:
        print(json.dumps(output))
    else:
        report(output)
