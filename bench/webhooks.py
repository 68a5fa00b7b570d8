"""Webhook delivery benchmark: one worker, one local receiver.

Reports
- throughput: deliveries/s for a backlog of N events drained by one `DeliveryWorker`;
- latency: from `transition()` commit to the receiver reading the request (p50/p99), with the
  worker running and events emitted at a steady rate. By default the worker is woken by the
  outbox notification (PostgreSQL LISTEN/NOTIFY, in-process on SQLite), as in production;
  `--poll-only` measures the poll alone (the figure before issue 13).

The receiver runs in a child process (a plain asyncio HTTP server) so it does not share the
worker's event loop; it stamps each request with the wall clock.

Usage: python bench/webhooks.py [--events 3000] [--latency-events 300] [--rate 100]
                                [--database sqlite|postgres] [--poll-only]

PostgreSQL: a new database on the server of KASSA_TEST_POSTGRES_URL (as the tests use),
dropped afterwards; each run starts from empty tables.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.db import close_database, migrate, open_database  # noqa: E402
from app.models import CheckoutSession, Merchant, WebhookDelivery, new_id  # noqa: E402
from app.notify import Listener, process_listener  # noqa: E402
from app.states import EventType, SessionStatus, WebhookDeliveryStatus, transition  # noqa: E402
from app.webhooks.worker import DeliveryWorker  # noqa: E402
from tests.conftest import fresh_postgres_database  # noqa: E402
from tests.webhooks.conftest import insert_endpoint, session_row  # noqa: E402

RECEIVER = r"""
import asyncio, sys, time
out = open(sys.argv[1], "w", buffering=1)
async def serve(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            length, msg_id = 0, ""
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "webhook-id":
                    msg_id = value.strip()
            await reader.readexactly(length)
            out.write(f"{msg_id} {time.time():.6f}\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


async def _sessions(merchant_id: str, count: int) -> list[CheckoutSession]:
    sessions = [session_row(merchant_id) for _ in range(count)]
    await CheckoutSession.bulk_create(sessions, batch_size=500)
    return sessions


def _receipts(path: Path) -> dict[str, float]:
    receipts: dict[str, float] = {}
    for line in path.read_text().splitlines():
        msg_id, _, at = line.partition(" ")
        receipts.setdefault(msg_id, float(at))
    return receipts


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _wait_delivered(endpoint_id: str, total: int, within: float) -> None:
    deadline = time.monotonic() + within
    succeeded = WebhookDelivery.filter(
        endpoint_id=endpoint_id, status=WebhookDeliveryStatus.SUCCEEDED
    )
    while await succeeded.count() < total:
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for deliveries")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="kassa-bench-"))
    if args.database == "postgres":
        async with fresh_postgres_database("kassa_bench") as database_url:
            return await run_on(args, scratch, database_url)
    return await run_on(args, scratch, f"sqlite://{scratch / 'bench.db'}")


async def run_on(args: argparse.Namespace, scratch: Path, database_url: str) -> dict[str, Any]:
    receipts_path = scratch / "receipts.txt"
    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RECEIVER, str(receipts_path), stdout=asyncio.subprocess.PIPE
    )
    assert receiver.stdout is not None
    port = int(await receiver.stdout.readline())
    settings = Settings(
        database_url=database_url,
        secret_key="bench-operator-secret-key-0123456789",
        webhooks_allow_private_targets=True,
        webhook_poll_interval_seconds=args.poll,
        webhook_concurrency=args.concurrency,
        webhook_endpoint_concurrency=args.concurrency,
    )
    await migrate(database_url)
    await open_database(database_url)
    # Push: this process's listener, as `kassa worker` starts it. Poll only: a listener that
    # nothing ever notifies.
    listener = Listener() if args.poll_only else process_listener()
    if not args.poll_only:
        await listener.start(database_url)
    try:
        merchant = await Merchant.create(id=new_id("mer"), name="Bench")
        endpoint_id = await insert_endpoint(settings, merchant.id, f"http://127.0.0.1:{port}/hook")

        # Throughput: a backlog drained by one worker.
        for session in await _sessions(merchant.id, args.events):
            await transition(session, SessionStatus.EXPIRED, EventType.CHECKOUT_SESSION_EXPIRED)
        worker = DeliveryWorker(settings, listener=listener)
        started = time.monotonic()
        runner = asyncio.create_task(worker.run())
        await _wait_delivered(endpoint_id, args.events, within=300)
        throughput_seconds = time.monotonic() - started

        # Latency: events committed at a steady rate while the worker runs.
        sessions = await _sessions(merchant.id, args.latency_events)
        committed: dict[str, float] = {}
        interval = 1.0 / args.rate
        next_at = time.monotonic()
        for session in sessions:
            event = await transition(
                session, SessionStatus.EXPIRED, EventType.CHECKOUT_SESSION_EXPIRED
            )
            committed[event.id] = time.time()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await _wait_delivered(endpoint_id, args.events + args.latency_events, within=120)
        worker.stop()
        await runner
    finally:
        if not args.poll_only:
            await listener.stop()
        await close_database()
        receiver.terminate()
        await receiver.wait()
    receipts = _receipts(receipts_path)
    delays_ms = [(receipts[eid] - at) * 1000 for eid, at in committed.items() if eid in receipts]
    return {
        "database": database_url.split("://", 1)[0],
        "events": args.events,
        "deliveries_per_second": round(args.events / throughput_seconds, 1),
        "latency_events": len(delays_ms),
        "latency_rate_per_second": args.rate,
        "poll_interval_seconds": args.poll,
        "woken_by": "poll only" if args.poll_only else "notification (push)",
        "commit_to_receipt_ms_p50": round(statistics.median(delays_ms), 1),
        "commit_to_receipt_ms_p99": round(_percentile(delays_ms, 0.99), 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0, help="events/s in the latency run")
    parser.add_argument("--poll", type=float, default=0.25, help="worker poll interval (s)")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--poll-only", action="store_true", help="no notifications: the worker's poll alone"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
