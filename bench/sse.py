"""Live status streams under load: API latency with 1,000 open server-sent-event streams.

Starts the real server (`kassa serve`, hypercorn, one process) on SQLite and/or PostgreSQL,
creates checkout sessions through the API, and for each scenario measures a cheap
authenticated endpoint (GET /v1/checkout/sessions/{id}) with wrk while nothing else runs
("idle"), then again while the streams are open ("loaded"), in the same run:

- spread: STREAMS streams within the default caps — 5 per session, 20 per client address
  (the bench is the server's trusted proxy and names the clients in X-Forwarded-For); then
  one more stream per full session, which the caps must refuse (429);
- one-session: the issue's attack, 1,500 streams on ONE session, on a second server whose
  stream caps are raised for the purpose; the shared status poll makes them one read a second.

wrk's percentiles are corrected for coordinated omission (a stall counts for the requests an
open-loop client would have sent meanwhile), so garbage-collector pauses show in the p99; the
third figure, after the streams closed, includes the full collection that frees them. The
API key limit is raised on the bench servers (wrk's closed loop would otherwise measure the
429s); the limiter's statement still runs on every request. Prints figures; asserts nothing.
Every phase is bounded in time.

    .venv/bin/python bench/sse.py [--database both|sqlite|postgres] [--streams 1000]
                                  [--seconds 10] [--connections 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._wrk import cpu_seconds, run_wrk  # noqa: E402
from bench.api import SESSION_BODY, UNLIMITED_API, prepare  # noqa: E402
from tests.conftest import LiveServer, fresh_postgres_database, start_live_server  # noqa: E402

PER_SESSION = 5  # the default caps (app/config.py)
PER_ADDRESS = 20
ONE_SESSION_STREAMS = 1500
OPEN_TIMEOUT_SECONDS = 60.0  # for opening all streams of a scenario
BENCH_ENV = {"KASSA_TRUSTED_PROXIES": '["127.0.0.1/32"]', **UNLIMITED_API}


@dataclass
class Latency:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_percent: float  # the server process's, during the measurement


async def measure_api(
    server: LiveServer, secret: str, session_id: str, args: argparse.Namespace
) -> Latency:
    """wrk against the retrieve endpoint; the server's CPU over the same interval."""
    pid = server.process.pid
    before, started = cpu_seconds(pid), time.monotonic()
    result = await asyncio.to_thread(
        run_wrk,
        f"{server.base_url}/v1/checkout/sessions/{session_id}",
        seconds=args.seconds,
        connections=args.connections,
        headers=[f"Authorization: Bearer {secret}"],
    )
    cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started) * 100
    return Latency(result.requests_per_second, result.p50_ms, result.p99_ms, cpu)


class Stream:
    """One SSE connection held open by a raw asyncio client (cheap enough for thousands)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status_events = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while chunk := await self.reader.read(65536):
                self.status_events += chunk.count(b"event: status")

    async def close(self) -> None:
        self.task.cancel()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def open_stream(base_url: str, session_id: str, client: str) -> Stream | int:
    """An open stream, or the HTTP status that refused it."""
    url = httpx.URL(base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        (
            f"GET /checkout/{session_id}/events HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
            f"Accept: text/event-stream\r\nX-Forwarded-For: {client}\r\n\r\n"
        ).encode()
    )
    status = int((await reader.readline()).split()[1])
    while (await reader.readline()).strip():
        pass  # the headers
    if status != 200:
        writer.close()
        return status
    return Stream(reader, writer)


@contextlib.asynccontextmanager
async def streams_open(
    base_url: str, targets: Sequence[tuple[str, str]]
) -> AsyncIterator[tuple[list[Stream], dict[int, int]]]:
    """Open a stream per (session, client address), 100 at a time; refusals by status."""
    opened: list[Stream] = []
    refused: dict[int, int] = {}
    gate = asyncio.Semaphore(100)

    async def one(session_id: str, client: str) -> None:
        async with gate:
            result = await open_stream(base_url, session_id, client)
        if isinstance(result, Stream):
            opened.append(result)
        else:
            refused[result] = refused.get(result, 0) + 1

    try:
        async with asyncio.timeout(OPEN_TIMEOUT_SECONDS):
            await asyncio.gather(*(one(session_id, client) for session_id, client in targets))
        yield opened, refused
    finally:
        await asyncio.gather(*(stream.close() for stream in opened))


async def create_sessions(base_url: str, secret: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        ids = []
        for _ in range(count):
            response = await client.post("/v1/checkout/sessions", json=SESSION_BODY)
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


def address(n: int) -> str:
    return f"198.18.{n // 250}.{n % 250 + 1}"  # RFC 2544 benchmarking range


def line(label: str, figures: Latency, note: str = "") -> str:
    return (
        f"  {label:<13} {figures.requests_per_second:6.0f} req/s  p50 {figures.p50_ms:6.2f} ms"
        f"  p99 {figures.p99_ms:6.2f} ms  server CPU {figures.cpu_percent:3.0f} %{note}"
    )


async def under_streams(
    server: LiveServer,
    secret: str,
    probe: str,
    targets: Sequence[tuple[str, str]],
    args: argparse.Namespace,
    over_targets: Sequence[tuple[str, str]] = (),
) -> None:
    """API latency idle, with the streams open, and idle again; then the figures."""
    before = await measure_api(server, secret, probe, args)
    began = time.monotonic()
    async with streams_open(server.base_url, targets) as (opened, refused):
        ramp = time.monotonic() - began
        await asyncio.sleep(2)  # past the first read of every session
        loaded = await measure_api(server, secret, probe, args)
        got_status = sum(1 for stream in opened if stream.status_events)
        if over_targets:
            async with streams_open(server.base_url, over_targets) as (over, over_refused):
                print(f"  over the caps: {len(over)} opened, refused {over_refused}")
    after = await measure_api(server, secret, probe, args)
    sessions = len({session_id for session_id, _ in targets})
    print(
        f"  {len(opened)} streams open ({refused or 'none refused'}) on {sessions} sessions in "
        f"{ramp:.1f} s; {got_status} got their status event"
    )
    print(line("idle", before))
    print(line("streams open", loaded, f"  ({len(opened)} streams)"))
    print(line("idle again", after, "  (streams closed)"))
    print(f"  p99 streams/idle: {loaded.p99_ms / before.p99_ms:.2f}x  (acceptance: within 2x)")


async def spread(server: LiveServer, secret: str, args: argparse.Namespace) -> None:
    sessions = await create_sessions(server.base_url, secret, -(-args.streams // PER_SESSION))
    targets = [(sessions[n // PER_SESSION], address(n // PER_ADDRESS)) for n in range(args.streams)]
    # One more stream on each of 100 full sessions, from fresh addresses: the session cap.
    over = [(session_id, address(10_000 + n)) for n, session_id in enumerate(sessions[:100])]
    print(f"spread: {PER_SESSION} streams per session, {PER_ADDRESS} per address (default caps)")
    await under_streams(server, secret, sessions[0], targets, args, over)


async def one_session(server: LiveServer, secret: str, args: argparse.Namespace) -> None:
    session_id, probe = await create_sessions(server.base_url, secret, 2)
    targets = [(session_id, address(n // PER_ADDRESS)) for n in range(ONE_SESSION_STREAMS)]
    print(f"one-session: {ONE_SESSION_STREAMS} streams on one session (caps raised for this)")
    await under_streams(server, secret, probe, targets, args)


async def run(label: str, database_url: str, scratch: Path, args: argparse.Namespace) -> None:
    print(f"\n== {label}  (wrk -c{args.connections}, {args.seconds} s per measurement)")
    secret = prepare(database_url)
    server = start_live_server(database_url, scratch, BENCH_ENV)
    try:
        await spread(server, secret, args)
    finally:
        server.stop()
    raised = {
        **BENCH_ENV,
        "KASSA_CHECKOUT_STREAMS_PER_SESSION": str(ONE_SESSION_STREAMS),
        "KASSA_CHECKOUT_STREAMS_PER_IP": str(ONE_SESSION_STREAMS),
    }
    server = start_live_server(database_url, scratch, raised)
    try:
        await one_session(server, secret, args)
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4, help="wrk's connections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.database in ("both", "sqlite"):
            await run("SQLite", f"sqlite://{scratch}/bench.db", Path(scratch), args)
        if args.database in ("both", "postgres"):
            async with fresh_postgres_database("kassa_bench") as url:
                await run("PostgreSQL", url, Path(scratch), args)


if __name__ == "__main__":
    asyncio.run(main())
