"""Shared fixtures: each database-backed test runs on SQLite and on PostgreSQL.

PostgreSQL comes from KASSA_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
each run creates and drops its own database. When no server answers, the PostgreSQL half is
skipped with a plain message, unless KASSA_TEST_REQUIRE_POSTGRES=1 (as in .ci/run), which
turns that into a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from app import create_app
from app.config import Settings
from app.db import migrate
from app.keys import create_key
from app.models import Merchant, new_id

POSTGRES_ADMIN_URL = os.environ.get(
    "KASSA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("KASSA_TEST_REQUIRE_POSTGRES") == "1"


async def _postgres_answers() -> str | None:
    """None when the server answers, else the reason."""
    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated, empty database of each dialect for the whole session."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "kassa.db"
        url = f"sqlite://{path}"
        await migrate(url)
        yield url
        return
    async with fresh_postgres_database() as url:
        await migrate(url)
        yield url


@contextlib.asynccontextmanager
async def fresh_postgres_database(prefix: str = "kassa_test") -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards. When no server
    answers: skips, or fails under KASSA_TEST_REQUIRE_POSTGRES=1."""
    problem = await _postgres_answers()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} did not answer ({problem})"
        if REQUIRE_POSTGRES:
            pytest.fail(message + "; KASSA_TEST_REQUIRE_POSTGRES=1 requires it", pytrace=False)
        pytest.skip(message + ": PostgreSQL half skipped")
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def dialect(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


# Networks enabled in every test app: a testnet and a mainnet, so both modes can create
# sessions. Nothing contacts their RPC URL (port 9 on loopback is closed): tests that need a
# chain enable the devnet on a real anvil themselves (tests/chain.py).
TEST_CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TEST_PAYOUT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
# A throwaway intent-signer key (anvil's public dev account 9): nothing is ever signed for value.
TEST_SIGNER_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
TEST_NETWORKS: dict[str, Any] = {
    "devnet": {
        "rpc_urls": ["http://127.0.0.1:9"],
        "contract_address": TEST_CONTRACT,
        "signer_key": TEST_SIGNER_KEY,
        "tokens": [
            {
                "symbol": "USDC",
                "address": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
                "decimals": 6,
            }
        ],
    },
    "ethereum": {
        "rpc_urls": ["http://127.0.0.1:9"],
        "contract_address": TEST_CONTRACT,
        "signer_key": TEST_SIGNER_KEY,
    },
}


# Prices every test app can quote: ETH in USD and EUR like the devnet's (tests/chain.py), and
# a fiat rate for a currency the ECB does not publish. The ECB source stays enabled (the
# default) but points at a closed port: creation sees what it would quote, and no test
# reaches the internet (tests of the ECB mock its URL with respx).
TEST_FIXED_RATES = {"ETH/USD": "2000", "ETH/EUR": "1850", "USD/KWD": "0.3075"}
TEST_ECB_URL = "http://127.0.0.1:9/eurofxref-daily.xml"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "networks": TEST_NETWORKS,
        "fixed_rates": TEST_FIXED_RATES,
        "ecb_url": TEST_ECB_URL,
        "public_url": "http://127.0.0.1:8000",
        "run_background_loops": False,
        "secret_key": "test-operator-secret-key-0123456789abcdef",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[Quart]:
    """One app per database, started (lifespan hooks ran) for the whole session."""
    # The test-only toychain plugin is installed like a third-party one (its blueprint serves
    # its pay-step template); it adds no network until a test enables toychain.
    from tests.plugins.toychain import ToyPlugin

    application = create_app(make_settings(database_url), [ToyPlugin()])
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> TestClientProtocol:
    return app.test_client()


@dataclass(frozen=True)
class MerchantKeys:
    merchant: Merchant
    test_secret: str
    live_secret: str

    def auth(self, livemode: bool = False) -> dict[str, str]:
        secret = self.live_secret if livemode else self.test_secret
        return {"Authorization": f"Bearer {secret}"}


async def new_merchant(
    name: str = "Acme Shop", payouts: dict[str, str] | None = None
) -> MerchantKeys:
    """A merchant with a test and a live key, paid out on every test network by default."""
    if payouts is None:
        payouts = {key: TEST_PAYOUT for key in TEST_NETWORKS}
    merchant = await Merchant.create(id=new_id("mer"), name=name, payout_addresses=payouts)
    test_key = await create_key(merchant, livemode=False, actor="cli")
    live_key = await create_key(merchant, livemode=True, actor="cli")
    return MerchantKeys(merchant, test_key.secret, live_key.secret)


@pytest.fixture
async def merchant(app: Quart) -> MerchantKeys:
    """A fresh merchant with a test and a live key (tests never share objects)."""
    return await new_merchant()


@pytest.fixture(scope="session")
def repo_root() -> Iterator[Path]:
    yield Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """`kassa serve` in a subprocess, on a free loopback port."""

    base_url: str
    process: Any

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()


def start_live_server(
    database_url: str,
    cwd: Path,
    extra_env: dict[str, str] | None = None,
    kassa: Sequence[str] | None = None,
) -> LiveServer:
    """Start the real server (hypercorn) and wait until it answers.

    `kassa` is the command to run (default: this interpreter's `python -m app.cli`).
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KASSA_")},
        "KASSA_DATABASE_URL": database_url,
        "KASSA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KASSA_SECRET_KEY": "test-operator-secret-key-0123456789abcdef",
        "KASSA_RUN_BACKGROUND_LOOPS": "false",
        "KASSA_LOG_LEVEL": "WARNING",
        "KASSA_CONFIG_FILE": str(cwd / "absent.toml"),
        "KASSA_NETWORKS": json.dumps(TEST_NETWORKS),
        "KASSA_FIXED_RATES": json.dumps(TEST_FIXED_RATES),
        "KASSA_ECB_URL": TEST_ECB_URL,
        **(extra_env or {}),
    }
    command = kassa or [sys.executable, "-m", "app.cli"]
    process = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kassa serve exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{base_url}/v1/openapi.json", timeout=1).read()
            return LiveServer(base_url, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("kassa serve did not answer within 30 s")


@pytest.fixture(scope="module")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = start_live_server(database_url, tmp_path_factory.mktemp("serve"))
    yield server
    server.stop()
