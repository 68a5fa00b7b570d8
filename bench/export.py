"""Export benchmark: the payments CSV streams in bounded memory.

For each size (1,000 and 10,000 payments by default), in a fresh scratch database (SQLite by
default, `--postgres` for a fresh PostgreSQL database, dropped afterwards):
- bulk-inserts that many checkout sessions and payments (one payment per session, amounts of
  6 and 18 decimals, metadata, one refund per 10 payments) straight through the ORM;
- starts the real server (`kassa serve`, hypercorn, as bench/api.py does) and warms it up with
  one small export (so imports and the first batch's allocations are in the baseline);
- resets the server process's peak RSS (`echo 5 > /proc/PID/clear_refs`), downloads
  `GET /v1/payments` with `Accept: text/csv` over HTTP, then reads the peak (VmHWM) and, as a
  cross-check, the largest VmRSS a sampling thread saw every 5 ms during the download;
- prints rows, bytes, seconds, rows/s, the RSS before, the peak, and the growth.

Bounded memory means the growth does not scale with the row count: the export holds one
batch of rows (app.exports.BATCH_SIZE) at a time. Nothing is asserted.

    .venv/bin/python bench/export.py [--postgres] [--sizes 1000 10000] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tortoise import Tortoise  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from app.db import migrate, tortoise_config  # noqa: E402
from app.exports import BATCH_SIZE  # noqa: E402
from app.keys import create_key  # noqa: E402
from app.models import CheckoutSession, Merchant, Payment, Refund, new_id  # noqa: E402
from tests.conftest import (  # noqa: E402
    TEST_PAYOUT,
    fresh_postgres_database,
    start_live_server,
)

INSERT_BATCH = 1000
KIB = 1024


@dataclass(frozen=True)
class Figures:
    database: str
    payments: int
    rows: int
    bytes: int
    seconds: float
    rss_before_kib: int
    peak_kib: int  # VmHWM after the reset: the highest RSS during the download
    sampled_peak_kib: int  # the largest VmRSS the sampler saw

    @property
    def growth_kib(self) -> int:
        return self.peak_kib - self.rss_before_kib


@contextlib.asynccontextmanager
async def scratch_database(postgres: bool) -> AsyncIterator[str]:
    if postgres:
        async with fresh_postgres_database("kassa_bench_export") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="kassa-bench-export-") as directory:
        yield f"sqlite://{directory}/kassa.db"


async def fill(database_url: str, count: int) -> str:
    """Migrate, create a merchant with a test key and `count` sessions with one payment
    each; returns the key's secret."""
    await migrate(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        merchant = await Merchant.create(
            id=new_id("mer"), name="Bench", payout_addresses={"devnet": TEST_PAYOUT}
        )
        key = await create_key(merchant, livemode=False, actor="cli")
        start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        async with in_transaction(Merchant._meta.default_connection):
            for offset in range(0, count, INSERT_BATCH):
                await insert_batch(merchant.id, start, offset, min(INSERT_BATCH, count - offset))
        return key.secret
    finally:
        await Tortoise.close_connections()


async def insert_batch(merchant_id: str, start: dt.datetime, offset: int, size: int) -> None:
    sessions, payments, refunds = [], [], []
    for n in range(offset, offset + size):
        at = start + dt.timedelta(seconds=n * 7)
        session_id = new_id("cs_test")
        payment_id = new_id("pay")
        usdc = n % 2 == 0
        sessions.append(
            CheckoutSession(
                id=session_id,
                merchant_id=merchant_id,
                livemode=False,
                status="completed",
                amount_fiat_cents=1000 + n,
                fiat_currency="EUR",
                allowed_crypto_currencies=["USDC", "ETH"],
                allowed_networks=["devnet"],
                payment_id=payment_id,
                checkout_url=f"http://127.0.0.1/checkout/{session_id}",
                success_url="https://shop.example/ok",
                cancel_url="https://shop.example/cancel",
                customer_email=f"shopper{n}@example.com",
                client_reference_id=f"order-{n}",
                metadata={"order_id": str(n), "cart": "3 items"},
                expires_at=at + dt.timedelta(hours=1),
                created_at=at,
                updated_at=at,
            )
        )
        amount = (1000 + n) * 10**4 if usdc else (1000 + n) * 10**13 + 123
        payments.append(
            Payment(
                id=payment_id,
                session_id=session_id,
                merchant_id=merchant_id,
                livemode=False,
                status="confirmed",
                network="devnet",
                crypto_currency="USDC" if usdc else "ETH",
                token_address="0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" if usdc else None,
                amount_base_units=amount,
                amount_received=amount,
                amount_final=amount,
                decimals=6 if usdc else 18,
                amount_fiat_cents=1000 + n,
                fiat_currency="EUR",
                quote_rate="1" if usdc else "1850",
                quote_source="fixed",
                quote_at=at,
                recipient=TEST_PAYOUT,
                tx_hash="0x" + secrets.token_hex(32),
                block_number=1000 + n,
                payer="0x" + secrets.token_hex(20),
                confirmations=12,
                confirmed_at=at + dt.timedelta(seconds=30),
                created_at=at,
                updated_at=at,
            )
        )
        if n % 10 == 0:
            refunds.append(
                Refund(
                    id=new_id("re"),
                    merchant_id=merchant_id,
                    payment_id=payment_id,
                    livemode=False,
                    status="succeeded",
                    network="devnet",
                    crypto_currency="USDC" if usdc else "ETH",
                    token_address=None,
                    decimals=6 if usdc else 18,
                    amount_base_units=amount // 2,
                    claim_token=secrets.token_urlsafe(24),
                    from_address=TEST_PAYOUT,
                    created_at=at,
                    updated_at=at,
                )
            )
    await CheckoutSession.bulk_create(sessions)
    await Payment.bulk_create(payments)
    if refunds:
        await Refund.bulk_create(refunds)


def status_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    assert match, f"no {field} in /proc/{pid}/status"
    return int(match.group(1))


class RssSampler(threading.Thread):
    """The largest VmRSS of a process, read every 5 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))
            time.sleep(0.005)

    def stop(self) -> int:
        self.done.set()
        self.join()
        return self.peak


def download(base_url: str, secret: str, query: str = "") -> tuple[int, int]:
    """Rows (lines after the header) and bytes of the payments CSV, read as it streams."""
    headers = {"Authorization": f"Bearer {secret}", "Accept": "text/csv"}
    lines = size = 0
    with httpx.stream(
        "GET", f"{base_url}/v1/payments{query}", headers=headers, timeout=600
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\r\n")
    return lines - 1, size


def measure(database: str, database_url: str, count: int, secret: str, cwd: Path) -> Figures:
    server = start_live_server(database_url, cwd)
    try:
        pid = server.process.pid
        # Warm-up: one batch's worth, so the first export's imports and allocations are
        # part of the baseline, not of the growth.
        download(server.base_url, secret, "?created[lt]=2026-11-01T00:58:20Z")
        time.sleep(0.5)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS now
        before = status_kib(pid, "VmRSS")
        sampler = RssSampler(pid)
        sampler.start()
        started = time.perf_counter()
        rows, size = download(server.base_url, secret)
        seconds = time.perf_counter() - started
        sampled = sampler.stop()
        peak = status_kib(pid, "VmHWM")
    finally:
        server.stop()
    assert rows == count, f"exported {rows} rows of {count}"
    return Figures(database, count, rows, size, seconds, before, peak, sampled)


async def run_size(postgres: bool, count: int) -> Figures:
    async with scratch_database(postgres) as url:
        filled = time.perf_counter()
        secret = await fill(url, count)
        print(
            f"  {count} payments inserted in {time.perf_counter() - filled:.1f} s", file=sys.stderr
        )
        with tempfile.TemporaryDirectory(prefix="kassa-bench-serve-") as cwd:
            return await asyncio.to_thread(
                measure, "postgres" if postgres else "sqlite", url, count, secret, Path(cwd)
            )


def report(figures: list[Figures]) -> str:
    lines = [
        f"GET /v1/payments (Accept: text/csv) on kassa serve; batches of {BATCH_SIZE} rows; "
        f"{os.cpu_count()} CPUs",
        "",
        f"{'database':<9} {'payments':>8} {'bytes':>10} {'seconds':>8} {'rows/s':>8} "
        f"{'RSS before':>11} {'peak':>9} {'growth':>8} {'sampled peak':>13}",
    ]
    for f in figures:
        lines.append(
            f"{f.database:<9} {f.payments:>8} {f.bytes:>10} {f.seconds:>8.2f} "
            f"{f.rows / f.seconds:>8.0f} {f.rss_before_kib / KIB:>8.1f} MiB "
            f"{f.peak_kib / KIB:>5.1f} MiB {f.growth_kib / KIB:>4.1f} MiB "
            f"{f.sampled_peak_kib / KIB:>9.1f} MiB"
        )
    by_database: dict[str, list[Figures]] = {}
    for f in figures:
        by_database.setdefault(f.database, []).append(f)
    lines.append("")
    for database, runs in by_database.items():
        small, large = min(runs, key=lambda f: f.payments), max(runs, key=lambda f: f.payments)
        if small is large:
            continue
        lines.append(
            f"{database}: {large.payments / small.payments:.0f}x the rows, "
            f"{large.bytes / small.bytes:.1f}x the bytes; peak RSS growth "
            f"{small.growth_kib / KIB:.1f} MiB -> {large.growth_kib / KIB:.1f} MiB"
        )
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--output", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = []
    for count in args.sizes:
        figures.append(await run_size(args.postgres, count))
    text = report(figures)
    print(text, end="")
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
