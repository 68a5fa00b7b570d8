"""Chain watcher throughput and confirmation latency on a local anvil.

    .venv/bin/python bench/watcher.py [--blocks 10000] [--every 100] [--trials 20]
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
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# The anvil and chain helpers live in tests/; this script runs as a file.
sys.path.insert(0, str(REPO_ROOT))

from eth_account import Account  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import close_database, migrate, open_database  # noqa: E402
from app.hookspecs import hookimpl  # noqa: E402
from app.models import ChainCursor, CheckoutSession, Merchant, Payment, new_id  # noqa: E402
from app.objects import payment_object  # noqa: E402
from app.payments import create_payment  # noqa: E402
from app.plugins import start_registry  # noqa: E402
from app.states import SessionStatus, utcnow  # noqa: E402
from app.watcher import ChainWatcher, follow_tx_hint, run_watcher  # noqa: E402
from plugins.evm.anvil import AnvilNode  # noqa: E402
from tests.chain import DEVNET, DevChain, deploy_devchain, devnet_settings  # noqa: E402


async def new_session(merchant: Merchant) -> CheckoutSession:
    now = utcnow()
    session_id = new_id("cs_test")
    return await CheckoutSession.create(
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
        expires_at=now + dt.timedelta(days=1),
        created_at=now,
        updated_at=now,
    )


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
        payment = await create_payment(await new_session(merchant), DEVNET, "ETH")
        payments.append(payment_object(payment))
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
    for payment in await Payment.exclude(status="confirmed"):
        print(f"not confirmed: {payment.id} {payment.status} tx={payment.tx_hash}", file=sys.stderr)
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
        scan = await catch_up(
            chain, merchant, devnet_settings(base, chain, max_log_range=args.max_log_range), args
        )
        live = await latency(
            chain,
            merchant,
            devnet_settings(base, chain, confirmations=3, poll_interval_seconds=args.poll_interval),
            args,
        )
        seen_settings = devnet_settings(
            base, chain, confirmations=3, poll_interval_seconds=args.poll_interval
        )
        seen = {
            "trials": args.trials,
            "poll_interval_seconds": args.poll_interval,
            "polled": await seen_latency(chain, merchant, seen_settings, args, hinted=False),
            "hinted": await seen_latency(chain, merchant, seen_settings, args, hinted=True),
        }
        await chain.w3.provider.disconnect()  # type: ignore[attr-defined]
    finally:
        node.stop()
        await close_database()
    return {
        "database": database_url.split(":", 1)[0],
        "catch_up": scan,
        "latency": live,
        "seen": seen,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=100, help="one payment per this many blocks")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument(
        "--max-log-range", type=int, default=None, help="eth_getLogs chunk (devnet: 10000)"
    )
    parser.add_argument("--database-url")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    result = asyncio.run(main(arguments))
    if arguments.json:
        print(json.dumps(result))
    else:
        scan, live = result["catch_up"], result["latency"]
        print(f"database: {result['database']}")
        print(
            f"catch-up: {scan['blocks']} blocks, {scan['payments']} payments "
            f"({scan['confirmed']} confirmed) in {scan['seconds']} s = "
            f"{scan['blocks_per_second']} blocks/s ({scan['polls']} polls, "
            f"getLogs chunks of {scan['max_log_range']} blocks)"
        )
        print(
            f"final block -> payment.confirmed ({live['trials']} payments, "
            f"{live['min_confirmations']} confirmations, poll every "
            f"{live['poll_interval_seconds']} s): median {live['median_ms']} ms, "
            f"p95 {live['p95_ms']} ms, max {live['max_ms']} ms"
        )
        seen = result["seen"]
        for how in ("polled", "hinted"):
            figures = seen[how]
            print(
                f"tx mined -> payment.pending, {how} ({seen['trials']} payments, poll every "
                f"{seen['poll_interval_seconds']} s): median {figures['median_ms']} ms, "
                f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms"
            )
