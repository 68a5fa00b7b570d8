"""API benchmark: Kassa's hot endpoints against a bare Quart endpoint on the same hypercorn.

For SQLite and PostgreSQL, in one run:
- a bare Quart app (bench/bare.py: `GET /` answers `{"ok": true}`) served exactly as
  `kassa serve` serves Kassa (same hypercorn, one process, same loop and settings), the
  floor (bench/floor.py: a POST with the create's body, one INSERT through Kassa's driver, an
  answer as large; no Kassa in it: the least a create can cost on this stack), and the
  real `kassa serve`, each on a free loopback port;
- wrk (compiled, closed loop; `-t1 -c16` by default) in alternating rounds: bare, floor, create,
  create with an Idempotency-Key, retrieve; then again, ROUNDS times (3 by default, of
  SECONDS each). Create is `POST /v1/checkout/sessions` with a realistic JSON body (a wrk Lua
  script; the Idempotency-Key variant numbers its keys per request), retrieve is
  `GET /v1/checkout/sessions/{id}` of one session;
- per endpoint: the median req/s of the rounds, its ratio to the bare endpoint's, the median
  of the rounds' p50 and p99 (wrk's latency distribution), the server's CPU;
- SQL statements per request, counted at the driver on a separate traced server (every
  statement including BEGIN/COMMIT is a round trip to PostgreSQL), and those of one create.

Any non-2xx answer or socket error fails the run (the per-key API limit is raised on the
bench servers so that wrk measures the work, not 429s; the limiter's statement still runs),
except that a Kassa server that stopped answering after wrk closed its connections is
restarted, counted and measured again (see `Kassa`).
wrk's own CPU under the bare endpoint is printed: below 100 % of one core, wrk is not what
limits the figures. Nothing is asserted.

--profile FILE also runs the create load (without Idempotency-Key) against a server under
cProfile and writes the top entries, by cumulative and by own time, and the statements of
one create, to FILE (bench/results/create_profile_*.txt).

    .venv/bin/python bench/api.py [--database both|sqlite|postgres] [--seconds 5] [--rounds 3]
                                  [--threads 1] [--connections 16] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pstats
import secrets
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._wrk import WrkFailed, WrkResult, cpu_seconds, require_wrk, run_wrk  # noqa: E402
from tests.conftest import (  # noqa: E402
    TEST_NETWORKS,
    TEST_PAYOUT,
    LiveServer,
    free_port,
    fresh_postgres_database,
    start_live_server,
)

# What a shop sends: an amount, the accepted coins, where to return, who and what for.
SESSION_BODY = {
    "amount_fiat": "50.00",
    "currency": "EUR",
    "allowed_crypto_currencies": ["ETH"],
    "allowed_networks": ["devnet"],
    "success_url": "https://shop.example/ok",
    "cancel_url": "https://shop.example/cancel",
    "customer_email": "shopper@example.com",
    "client_reference_id": "order-10042",
    "metadata": {"order_id": "10042", "cart": "3 items"},
}


# Far above what the bench sends: see the docstring.
UNLIMITED_API = {"KASSA_API_REQUESTS_PER_SECOND": "1000000", "KASSA_API_REQUESTS_BURST": "1000000"}

INSTRUMENTED_SERVER = [sys.executable, str(REPO / "bench" / "_instrumented_server.py")]
PROFILE_TOP = 30
STATEMENT_SAMPLES = 10  # requests per variant whose statements are counted


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


def start_reference_server(script: str, *options: str) -> LiveServer:
    """bench/SCRIPT (bare.py, floor.py) on a free loopback port, once it answers HTTP."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / script), "--port", str(port), *options], cwd=REPO
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bench/{script} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{base_url}/", timeout=1).read()
            return LiveServer(base_url, process)
        except urllib.error.HTTPError:  # an answer (floor.py takes POST only): it serves
            return LiveServer(base_url, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"bench/{script} did not answer within 30 s")


# --- the load -----------------------------------------------------------------------------


def create_script(path: Path, secret: str, idempotent: bool) -> Path:
    """A wrk Lua script posting SESSION_BODY; with `idempotent`, a fresh Idempotency-Key per
    request (init's argument, unique per wrk run, then thread number and a counter)."""
    lua = f"""
wrk.method = "POST"
wrk.body = [==[{json.dumps(SESSION_BODY)}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {secret}"
"""
    if idempotent:
        lua += """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  prefix = args[1] .. "-" .. thread_number .. "-"
  counter = 0
end
function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. counter
  return wrk.format()
end
"""
    path.write_text(lua)
    return path


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    headers: Sequence[str] = ()
    script: Path | None = None
    unique_keys: bool = False  # pass the script a per-run Idempotency-Key prefix


@dataclass(frozen=True)
class Measured:
    wrk: WrkResult
    server_cpu_percent: float


@dataclass
class Rounds:
    endpoint: Endpoint
    measured: list[Measured] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(m.wrk.requests_per_second for m in self.measured)

    @property
    def p50_ms(self) -> float:
        return statistics.median(m.wrk.p50_ms for m in self.measured)

    @property
    def p99_ms(self) -> float:
        return statistics.median(m.wrk.p99_ms for m in self.measured)

    @property
    def server_cpu_percent(self) -> float:
        return statistics.median(m.server_cpu_percent for m in self.measured)


def measure(
    server: LiveServer, endpoint: Endpoint, seconds: float, args: argparse.Namespace
) -> Measured:
    """One wrk run against `server`, with the server's CPU over the same interval."""
    pid = server.process.pid
    before, started = cpu_seconds(pid), time.monotonic()
    result = run_wrk(
        server.base_url + endpoint.path,
        seconds=seconds,
        connections=args.connections,
        threads=args.threads,
        headers=endpoint.headers,
        script=endpoint.script,
        script_args=[f"bench-{secrets.token_hex(6)}"] if endpoint.unique_keys else (),
    )
    server_cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started) * 100
    return Measured(result, server_cpu)


def create_session(base_url: str, secret: str, timeout: float = 30) -> str:
    response = httpx.post(
        f"{base_url}/v1/checkout/sessions",
        json=SESSION_BODY,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=timeout,
    )
    response.raise_for_status()
    session_id: str = response.json()["id"]
    return session_id


def endpoints(scratch: Path, secret: str, session_id: str) -> list[Endpoint]:
    return [
        Endpoint(
            "POST /v1/checkout/sessions",
            "/v1/checkout/sessions",
            (),
            create_script(scratch / "create.lua", secret, idempotent=False),
        ),
        Endpoint(
            "  with Idempotency-Key",
            "/v1/checkout/sessions",
            (),
            create_script(scratch / "create_idempotent.lua", secret, idempotent=True),
            unique_keys=True,
        ),
        Endpoint(
            "GET /v1/checkout/sessions/{id}",
            f"/v1/checkout/sessions/{session_id}",
            (f"Authorization: Bearer {secret}",),
        ),
    ]


BARE = Endpoint("bare GET / (Quart, same hypercorn)", "/")


def floor_endpoint(scratch: Path, secret: str) -> Endpoint:
    """bench/floor.py's POST: the create's body, one INSERT, an answer as large, no Kassa."""
    script = create_script(scratch / "floor.lua", secret, idempotent=False)
    return Endpoint("floor POST (1 INSERT, no Kassa)", "/", (), script)


class Kassa:
    """`kassa serve` under measurement, restarted when it stops answering.

    When wrk stops, it closes connections with requests in flight, and Quart cancels their
    handlers. On SQLite, a handler cancelled while Tortoise begins a transaction keeps the
    connection's lock (tortoise/backends/sqlite/client.py, SqliteTransactionContext:
    __aenter__ takes the lock, then awaits BEGIN; cancelled there, __aexit__ never runs), and
    every later query waits for it: the server answers /healthz but no API call. A
    measurement after that fails; the bench then restarts the server, says so, and measures
    again, so that the figures measure the work, not the stall.
    """

    def __init__(self, database_url: str, scratch: Path, secret: str) -> None:
        self.database_url = database_url
        self.scratch = scratch
        self.secret = secret
        self.stalls = 0
        self.server = start_live_server(database_url, scratch, UNLIMITED_API)

    def answers(self) -> bool:
        try:
            create_session(self.server.base_url, self.secret, timeout=5)
        except httpx.HTTPError:
            return False
        return True

    def restart(self) -> None:
        self.server.stop()
        self.server = start_live_server(self.database_url, self.scratch, UNLIMITED_API)

    def stop(self) -> None:
        self.server.stop()


MAX_RESTARTS = 5  # in a row, for one measurement


def measure_kassa(
    kassa: Kassa, endpoint: Endpoint, seconds: float, args: argparse.Namespace
) -> Measured:
    """`measure`, restarting a stalled server (see Kassa) and measuring again."""
    for _ in range(MAX_RESTARTS):
        try:
            return measure(kassa.server, endpoint, seconds, args)
        except WrkFailed:
            if kassa.answers():
                raise  # a real error, not a stall
        kassa.stalls += 1
        print(
            f"  !! Kassa stopped answering (stall {kassa.stalls}, before "
            f"{endpoint.label.strip()}): restarted",
            flush=True,
        )
        kassa.restart()
        with contextlib.suppress(WrkFailed):
            measure(kassa.server, endpoint, 1, args)  # warm up; a stall shows in the next try
    raise WrkFailed(f"Kassa stalled {MAX_RESTARTS} times in a row")


def alternate(
    bare: LiveServer,
    floor: tuple[LiveServer, Endpoint],
    kassa: Kassa,
    kassa_endpoints: list[Endpoint],
    args: argparse.Namespace,
) -> tuple[Rounds, Rounds, list[Rounds]]:
    """Warm up, then ROUNDS rounds of bare, floor and each Kassa endpoint in turn."""
    floor_server, floor_request = floor
    measure(bare, BARE, 1, args)
    measure(floor_server, floor_request, 1, args)
    for endpoint in kassa_endpoints:
        measure_kassa(kassa, endpoint, 1, args)
    bare_rounds = Rounds(BARE)
    floor_rounds = Rounds(floor_request)
    kassa_rounds = [Rounds(endpoint) for endpoint in kassa_endpoints]
    for _ in range(args.rounds):
        bare_rounds.measured.append(measure(bare, BARE, args.seconds, args))
        floor_rounds.measured.append(measure(floor_server, floor_request, args.seconds, args))
        for rounds in kassa_rounds:
            rounds.measured.append(measure_kassa(kassa, rounds.endpoint, args.seconds, args))
    return bare_rounds, floor_rounds, kassa_rounds


# --- SQL statements per request -----------------------------------------------------------


@dataclass(frozen=True)
class StatementCounts:
    per_request: dict[str, float]
    one_create: list[str]


def count_statements(
    database_url: str, scratch: Path, secret: str, kassa_endpoints: list[Endpoint]
) -> StatementCounts:
    """Requests one at a time against a server tracing its statements at the driver."""
    trace = scratch / f"statements-{secrets.token_hex(4)}.log"
    trace.touch()
    env = {**UNLIMITED_API, "BENCH_SQL_TRACE": str(trace)}
    server = start_live_server(database_url, scratch, env, kassa=INSTRUMENTED_SERVER)
    auth = {"Authorization": f"Bearer {secret}"}

    def lines() -> list[str]:
        time.sleep(0.05)  # the driver's thread (aiosqlite) may still be writing its last line
        return trace.read_text().splitlines()

    try:
        with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as client:
            session_id = ""
            for _ in range(3):  # warm: first statements, caches, last_used_at refreshed
                created = client.post("/v1/checkout/sessions", json=SESSION_BODY)
                created.raise_for_status()
                session_id = created.json()["id"]
                client.get(f"/v1/checkout/sessions/{session_id}").raise_for_status()
            variants = {
                "create": lambda: client.post("/v1/checkout/sessions", json=SESSION_BODY),
                "create with Idempotency-Key": lambda: client.post(
                    "/v1/checkout/sessions",
                    json=SESSION_BODY,
                    headers={"Idempotency-Key": f"count-{secrets.token_hex(8)}"},
                ),
                "retrieve": lambda: client.get(f"/v1/checkout/sessions/{session_id}"),
            }
            per_request: dict[str, float] = {}
            for name, send in variants.items():
                before = len(lines())
                for _ in range(STATEMENT_SAMPLES):
                    send().raise_for_status()
                per_request[name] = (len(lines()) - before) / STATEMENT_SAMPLES
            before = len(lines())
            variants["create"]().raise_for_status()
            one_create = lines()[before:]
    finally:
        server.stop()
    return StatementCounts(per_request, one_create)


# --- the profile --------------------------------------------------------------------------


def profile_create(
    database_url: str, scratch: Path, create: Endpoint, args: argparse.Namespace
) -> tuple[str, WrkResult]:
    """The create load against a server under cProfile (only during the load): the top
    entries by cumulative and by own time, and wrk's figures under the profiler."""
    stats_file = scratch / f"create-{secrets.token_hex(4)}.pstats"
    env = {**UNLIMITED_API, "BENCH_PROFILE": str(stats_file)}
    server = start_live_server(database_url, scratch, env, kassa=INSTRUMENTED_SERVER)
    try:
        measure(server, create, 1, args)  # warm up
        os.kill(server.process.pid, signal.SIGUSR1)
        result = measure(server, create, args.profile_seconds, args).wrk
        os.kill(server.process.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not stats_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # written whole, then renamed (bench/_instrumented_server.py)
    finally:
        server.stop()
    text = own_time_by_package(pstats.Stats(str(stats_file)), result.requests)
    sections = [
        (f"top {PROFILE_TOP} by cumulative", "cumulative", (PROFILE_TOP,)),
        (f"top {PROFILE_TOP} by own time", "tottime", (PROFILE_TOP,)),
        (
            "Kassa's own functions (app/, plugins/) by cumulative",
            "cumulative",
            (f"^{REPO}/(app|plugins)/", PROFILE_TOP),
        ),
    ]
    for title, order, restrictions in sections:
        buffer = io.StringIO()
        stats = pstats.Stats(str(stats_file), stream=buffer).sort_stats(order)
        stats.print_stats(*restrictions)
        text += f"\n--- {title}\n" + _short_paths(buffer.getvalue())
    return text, result


def _package(filename: str, function: str) -> str:
    """Where a profile entry's code lives: a library, a stdlib module, a Kassa file, or the
    C function itself."""
    if filename == "~":
        return f"(C) {function}"
    path = Path(filename)
    for root, label in (
        (Path(sysconfig.get_paths()["purelib"]), ""),
        (Path(sysconfig.get_paths()["stdlib"]), "stdlib "),
        (REPO, ""),
    ):
        if path.is_relative_to(root):
            parts = path.relative_to(root).parts
            return label + ("/".join(parts) if parts[0] in ("app", "plugins") else parts[0])
    return filename


def own_time_by_package(stats: pstats.Stats, requests: int) -> str:
    """Own time summed per library, stdlib module, Kassa file and C function: where the
    event loop's thread spends its time, per request."""
    totals: dict[str, float] = {}
    entries = stats.stats  # type: ignore[attr-defined]  # (file, line, function) -> figures
    for (filename, _line, function), (_, _, own, _, _) in entries.items():
        name = _package(filename, function)
        totals[name] = totals.get(name, 0.0) + own
    whole = sum(totals.values())
    lines = [
        f"\n--- own time by library, module and Kassa file (top {PROFILE_TOP}; "
        f"{requests} requests, {whole:.2f} s on the loop's thread)"
    ]
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1])[:PROFILE_TOP]:
        lines.append(
            f"  {seconds:7.3f} s {seconds / whole:6.1%} {seconds / requests * 1000:7.3f} ms/req"
            f"  {name[:110]}"
        )
    return "\n".join(lines) + "\n"


def profile_create_retrying(
    database_url: str, scratch: Path, create: Endpoint, args: argparse.Namespace
) -> tuple[str, WrkResult]:
    """profile_create on a fresh server again when the warm-up's end stalled it (see Kassa)."""
    for attempt in range(1, MAX_RESTARTS + 1):
        try:
            return profile_create(database_url, scratch, create, args)
        except WrkFailed:
            print(f"  !! the profiled server stopped answering (try {attempt}): again", flush=True)
    raise WrkFailed(f"the profiled server stalled {MAX_RESTARTS} times")


def _short_paths(text: str) -> str:
    for prefix in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]}:
        text = text.replace(prefix + "/", "")
    return text.replace(str(REPO) + "/", "")


# --- the report ---------------------------------------------------------------------------


def row(rounds: Rounds, bare_rate: float) -> str:
    return (
        f"  {rounds.endpoint.label:<35} {rounds.rate:7.0f}  {rounds.rate / bare_rate:5.2f}"
        f"  {rounds.p50_ms:7.2f}  {rounds.p99_ms:7.2f}  {rounds.server_cpu_percent:5.0f} %"
    )


def report(
    label: str,
    bare_rounds: Rounds,
    floor_rounds: Rounds,
    kassa_rounds: list[Rounds],
    counts: StatementCounts,
    load: tuple[float, float],
    stalls: int,
    args: argparse.Namespace,
) -> None:
    print(
        f"\n== {label}  (wrk -t{args.threads} -c{args.connections}, {args.rounds} alternating"
        f" rounds of {args.seconds:g} s; medians of the rounds)"
    )
    # Anything else running on the machine takes CPU from the servers: say how much there was.
    print(f"  load average (1 min) before and after: {load[0]:.2f}, {load[1]:.2f}")
    print(f"  {'':<35} {'req/s':>7}  {'ratio':>5}  {'p50 ms':>7}  {'p99 ms':>7}  server CPU")
    print(row(bare_rounds, bare_rounds.rate))
    print(row(floor_rounds, bare_rounds.rate))
    for rounds in kassa_rounds:
        print(row(rounds, bare_rounds.rate))
    create = kassa_rounds[0]
    print(
        f"  create to floor: {create.rate / floor_rounds.rate:.2f} (Kassa's own work: "
        f"{1e6 / create.rate - 1e6 / floor_rounds.rate:.0f} us a request at full load)"
    )
    for rounds in (bare_rounds, floor_rounds, *kassa_rounds):
        figures = " ".join(f"{m.wrk.requests_per_second:.0f}" for m in rounds.measured)
        print(f"  rounds, {rounds.endpoint.label.strip()}: {figures} req/s")
    wrk_cpu = max(m.wrk.wrk_cpu_percent for m in bare_rounds.measured)
    verdict = "not the bottleneck" if wrk_cpu < 90 else "NEAR SATURATION: add --threads"
    print(
        f"  wrk's CPU under the bare endpoint: at most {wrk_cpu:.0f} % of one core"
        f" (it has {args.threads}; {verdict})"
    )
    if stalls:
        print(f"  Kassa stalled {stalls} times after wrk closed its connections (restarted)")
    per_request = ", ".join(f"{name} {count:g}" for name, count in counts.per_request.items())
    print(f"  SQL statements per request: {per_request}")
    print("  statements of one create:")
    for statement in counts.one_create:
        print(f"    {statement[:150]}")


def machine() -> str:
    return f"{os.cpu_count()} CPUs, shared by wrk, the servers and the database"


async def bench_database(
    label: str,
    database_url: str,
    scratch: Path,
    bare: LiveServer,
    args: argparse.Namespace,
    profiles: list[str],
) -> None:
    secret = prepare(database_url)
    load_before = os.getloadavg()[0]
    kassa = Kassa(database_url, scratch, secret)
    try:
        session_id = create_session(kassa.server.base_url, secret)
        kassa_endpoints = endpoints(scratch, secret, session_id)
        if not args.only_profile:
            # The floor's own database file on SQLite: it must not share Kassa's lock.
            floor_url = database_url.replace("bench.db", "floor.db")
            floor = start_reference_server("floor.py", "--database-url", floor_url)
            try:
                bare_rounds, floor_rounds, kassa_rounds = alternate(
                    bare, (floor, floor_endpoint(scratch, secret)), kassa, kassa_endpoints, args
                )
            finally:
                floor.stop()
    finally:
        kassa.stop()
    load = (load_before, os.getloadavg()[0])
    counts = count_statements(database_url, scratch, secret, kassa_endpoints)
    unprofiled = ""
    if not args.only_profile:
        report(label, bare_rounds, floor_rounds, kassa_rounds, counts, load, kassa.stalls, args)
        unprofiled = (
            f" (unprofiled: {kassa_rounds[0].rate:.0f} req/s; bare {bare_rounds.rate:.0f} req/s)"
        )
    if args.profile:
        text, result = profile_create_retrying(database_url, scratch, kassa_endpoints[0], args)
        statements = "\n".join(f"  {statement}" for statement in counts.one_create)
        per_request = ", ".join(f"{name} {n:g}" for name, n in counts.per_request.items())
        profiles.append(
            f"\n==== {label}: POST /v1/checkout/sessions under cProfile\n"
            f"wrk -t{args.threads} -c{args.connections} for {args.profile_seconds:g} s: "
            f"{result.requests_per_second:.0f} req/s under the profiler{unprofiled}\n"
            f"SQL statements per request: {per_request}\n"
            f"statements of one create:\n{statements}\n{text}"
        )


def write_profiles(path: Path, profiles: list[str], args: argparse.Namespace) -> None:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    header = (
        f"bench/api.py --profile: the create path, {time.strftime('%Y-%m-%d %H:%M %Z')}, "
        f"git {commit}, {machine()}.\n"
        "cProfile on the server's main thread (the event loop) during the load only; its "
        "overhead slows\nthe server, so read shares, not absolute times. ncalls of coroutines "
        "count each resumption.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(profiles))
    print(f"\nprofile written to {path}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--seconds", type=float, default=5, help="per round and endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="write a create profile")
    parser.add_argument("--profile-seconds", type=float, default=10)
    parser.add_argument(
        "--only-profile", action="store_true", help="with --profile: skip the rounds"
    )
    args = parser.parse_args()
    require_wrk()
    print(f"machine: {machine()}")
    profiles: list[str] = []
    bare = start_reference_server("bare.py")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            if args.database in ("both", "sqlite"):
                url = f"sqlite://{scratch}/bench.db"
                await bench_database("SQLite", url, Path(scratch), bare, args, profiles)
            if args.database in ("both", "postgres"):
                async with fresh_postgres_database("kassa_bench") as url:
                    await bench_database("PostgreSQL", url, Path(scratch), bare, args, profiles)
    finally:
        bare.stop()
    if args.profile:
        write_profiles(args.profile, profiles, args)


if __name__ == "__main__":
    asyncio.run(main())
