"""API benchmark: create-session throughput and latency against a trivial endpoint.

Starts the real server (`kassa serve`, hypercorn) on SQLite and on PostgreSQL, then:
1. closed loop, CONCURRENCY clients, alternating rounds: requests/s (median) and p50/p99
   for GET /healthz (baseline, no database) and for POST /v1/checkout/sessions, and their
   ratio;
2. open loop at a fixed 200 requests/s of create-session: p50/p99 latency.
Prints figures only; nothing is asserted. The per-key API limit (100 requests/s by default) is
raised on the bench server so that it measures the work, not 429s; the limiter's one statement
per request still runs.

    .venv/bin/python bench/api.py [--seconds 5] [--concurrency 32] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import (  # noqa: E402
    POSTGRES_ADMIN_URL,
    TEST_NETWORKS,
    TEST_PAYOUT,
    start_live_server,
)

SESSION_BODY = {
    "amount_fiat": "50.00",
    "currency": "EUR",
    "allowed_crypto_currencies": ["ETH"],
    "allowed_networks": ["devnet"],
    "success_url": "https://shop.example/ok",
    "cancel_url": "https://shop.example/cancel",
}


# Far above what the bench sends: see the docstring.
UNLIMITED_API = {"KASSA_API_REQUESTS_PER_SECOND": "1000000", "KASSA_API_REQUESTS_BURST": "1000000"}


def cli_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "KASSA_DATABASE_URL": database_url,
        "KASSA_LOG_LEVEL": "WARNING",
        "KASSA_NETWORKS": json.dumps(TEST_NETWORKS),
    }


def kassa(database_url: str, *args: str) -> str:
    env = cli_env(database_url)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args, "--json"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def prepare(database_url: str) -> str:
    """Migrate, create a merchant and a test key; returns the secret."""
    env = cli_env(database_url)
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    merchant = json.loads(
        kassa(
            database_url,
            "merchants",
            "create",
            "--name",
            "Bench",
            "--payout",
            f"devnet={TEST_PAYOUT}",
        )
    )["id"]
    return json.loads(
        kassa(database_url, "keys", "create", "--merchant", merchant, "--mode", "test")
    )["secret"]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def closed_loop(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    seconds: float,
    concurrency: int,
    **kwargs: object,
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - began), latencies


async def open_loop(
    client: httpx.AsyncClient, rate: float, seconds: float, headers: dict[str, str]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    interval = 1.0 / rate
    began = time.perf_counter()
    tasks = []

    async def one() -> None:
        started = time.perf_counter()
        response = await client.post("/v1/checkout/sessions", json=SESSION_BODY, headers=headers)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text

    for i in range(int(rate * seconds)):
        delay = began + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return len(latencies) / (time.perf_counter() - began), latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def run(label: str, base_url: str, secret: str, args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        await closed_loop(client, "GET", "/healthz", 1, 4)  # warm up
        # Alternate short rounds so both figures see the same machine conditions.
        base_rounds, create_rounds = [], []
        base_lat: list[float] = []
        create_lat: list[float] = []
        for _ in range(args.rounds):
            rps, lat = await closed_loop(
                client, "GET", "/healthz", args.seconds / args.rounds, args.concurrency
            )
            base_rounds.append(rps)
            base_lat += lat
            rps, lat = await closed_loop(
                client,
                "POST",
                "/v1/checkout/sessions",
                args.seconds / args.rounds,
                args.concurrency,
                json=SESSION_BODY,
                headers=headers,
            )
            create_rounds.append(rps)
            create_lat += lat
        base_rps = statistics.median(base_rounds)
        create_rps = statistics.median(create_rounds)
        paced_rps, paced_lat = await open_loop(client, args.rate, args.seconds, headers)
    print(f"\n== {label}")
    print(
        f"baseline GET /healthz      : {base_rps:8.0f} req/s  p50 {ms(percentile(base_lat, 0.5))}"
        f"  p99 {ms(percentile(base_lat, 0.99))}  (concurrency {args.concurrency})"
    )
    print(
        f"POST /v1/checkout/sessions : {create_rps:8.0f} req/s"
        f"  p50 {ms(percentile(create_lat, 0.5))}"
        f"  p99 {ms(percentile(create_lat, 0.99))}"
    )
    print(f"ratio create/baseline      : {create_rps / base_rps:8.0%}  (target >= 50 %)")
    print(
        f"open loop at {args.rate:.0f} req/s      : {paced_rps:8.0f} req/s  p50 "
        f"{ms(statistics.median(paced_lat))}  p99 {ms(percentile(paced_lat, 0.99))}"
        "  (target p99 < 25 ms on PostgreSQL)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="alternating closed-loop rounds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        sqlite_url = f"sqlite://{scratch}/bench.db"
        secret = prepare(sqlite_url)
        server = start_live_server(sqlite_url, Path(scratch), UNLIMITED_API)
        try:
            await run("SQLite", server.base_url, secret, args)
        finally:
            server.stop()

        name = f"kassa_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            pg_url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
            secret = prepare(pg_url)
            server = start_live_server(pg_url, Path(scratch), UNLIMITED_API)
            try:
                await run("PostgreSQL", server.base_url, secret, args)
            finally:
                server.stop()
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
