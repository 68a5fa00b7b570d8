"""`kassa doctor`'s chain-neutral part: the database and its migrations, the secret key, the
webhook workers' heartbeat, and a network's checks and watcher lag on toychain (a chain the
core knows nothing about). The EVM network's own checks: tests/networks/test_doctor.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from quart import Quart

from app import doctor
from app.config import Settings
from app.doctor import (
    HealthCache,
    checks_after_database,
    migrations_check,
    network_health,
    secret_key_check,
    webhook_workers_check,
)
from app.models import ChainCursor, Heartbeat, Payment, WebhookEndpoint
from app.networks import HealthCheck, Registry, build_registry, current_registry
from app.plugins import make_plugin_manager
from app.states import utcnow
from app.webhooks.worker import HEARTBEAT, DeliveryWorker
from tests.conftest import MerchantKeys, free_port, make_settings
from tests.plugins.fakes import FakeNetwork
from tests.plugins.toychain import CHAINS, ToyChain, ToyNetwork, ToyPlugin
from tests.webhooks.conftest import emit_events, insert_endpoint, new_session

TOY = ToyNetwork.key


def by_name(checks: list[HealthCheck]) -> dict[str, HealthCheck]:
    return {check.name: check for check in checks}


# ----------------------------------------------------------------------------- database


async def test_migrations_all_applied_pending_or_unknown(
    app: Quart, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url)
    applied = await migrations_check(settings)
    shipped = doctor.migration_files(database_url)
    assert applied.ok and f"all {len(shipped)} applied" in applied.detail

    future = "99_20991231000000_future.py"
    monkeypatch.setattr(doctor, "migration_files", lambda url: [*shipped, future])
    pending = await migrations_check(settings)
    assert not pending.ok and future in pending.detail and "kassa migrate" in pending.detail

    monkeypatch.setattr(doctor, "migration_files", lambda url: shipped[:-1])
    newer = await migrations_check(settings)
    assert not newer.ok and shipped[-1] in newer.detail and "newer Kassa" in newer.detail

    monkeypatch.setattr(doctor, "migration_files", lambda url: [])
    none = await migrations_check(settings)
    assert not none.ok and "reinstall" in none.detail


def kassa_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m app.cli ARGS` in a fresh process, with only the given KASSA_ settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env={**clean, "KASSA_CONFIG_FILE": str(cwd / "none.toml"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def doctor_report(result: subprocess.CompletedProcess[str]) -> tuple[dict[str, Any], list[str]]:
    """`kassa doctor --json`'s report, checked for its shape and for an exit status that
    agrees with it; and the names of the failed checks."""
    report = json.loads(result.stdout)
    assert set(report) == {"ok", "checks"}
    assert all(set(check) == {"name", "ok", "detail"} for check in report["checks"])
    failed = [check["name"] for check in report["checks"] if not check["ok"]]
    assert report["ok"] is (not failed)
    assert result.returncode == (2 if failed else 0), result.stderr
    if failed:
        assert f"checks failed: {', '.join(failed)}" in result.stderr
    return report, failed


def test_an_unusable_database_fails_its_checks_and_nothing_else_pretends(tmp_path: Path) -> None:
    """No database file, no key, no network: every check says why, the exit status is 2."""
    missing = tmp_path / "nowhere.db"
    report, failed = doctor_report(
        kassa_cli(
            tmp_path,
            "doctor",
            "--json",
            KASSA_DATABASE_URL=f"sqlite://{missing}",
            KASSA_NETWORKS="{}",
        )
    )
    checks = {check["name"]: check for check in report["checks"]}
    assert failed == ["database", "migrations", "secret key", "networks", "webhook workers"]
    assert list(checks) == failed
    assert str(missing) in checks["database"]["detail"]
    assert "KASSA_SECRET_KEY" in checks["secret key"]["detail"]
    assert "none enabled" in checks["networks"]["detail"]
    assert not missing.exists(), "the doctor only looks: it creates no database"


def test_a_dead_postgres_fails_the_database_check(tmp_path: Path) -> None:
    url = f"postgres://kassa:hunter2@127.0.0.1:{free_port()}/kassa"
    result = kassa_cli(tmp_path, "doctor", "--json", KASSA_DATABASE_URL=url, KASSA_NETWORKS="{}")
    report, failed = doctor_report(result)
    database = report["checks"][0]
    assert failed[0] == database["name"] == "database"
    assert "cannot open the PostgreSQL database 'kassa'" in database["detail"]
    assert "hunter2" not in result.stdout + result.stderr


# ----------------------------------------------------------------------------- secret key


async def test_secret_key_present_and_the_one_secrets_were_sealed_with(
    app: Quart, database_url: str, merchant: MerchantKeys
) -> None:
    settings = make_settings(database_url)
    missing = await secret_key_check(make_settings(database_url, secret_key=""), True)
    assert not missing.ok and "KASSA_SECRET_KEY" in missing.detail
    assert (await secret_key_check(settings, False)).ok
    await WebhookEndpoint.all().delete()
    try:
        await insert_endpoint(settings, merchant.merchant.id, "https://hooks.example/k")
        opened = await secret_key_check(settings, True)
        assert opened.ok and "opens the stored webhook secrets" in opened.detail
        other = make_settings(database_url, secret_key="another-operator-key-0123456789")
        changed = await secret_key_check(other, True)
        assert not changed.ok and "was it changed" in changed.detail
    finally:
        await WebhookEndpoint.all().delete()


# ----------------------------------------------------------------------------- webhook workers


async def test_webhook_workers_fail_only_when_deliveries_are_due_and_no_worker_beats(
    app: Quart, database_url: str, merchant: MerchantKeys
) -> None:
    settings = make_settings(database_url, webhook_poll_interval_seconds=0.02)
    await WebhookEndpoint.all().delete()  # deliveries other tests left behind
    await Heartbeat.filter(name=HEARTBEAT).delete()
    try:
        quiet = await webhook_workers_check()
        assert quiet.ok and "no delivery is due" in quiet.detail and "never" in quiet.detail

        # A running worker beats at once (and every few seconds after).
        worker = DeliveryWorker(settings)
        running = asyncio.create_task(worker.run())
        for _ in range(100):
            if await Heartbeat.get_or_none(name=HEARTBEAT) is not None:
                break
            await asyncio.sleep(0.05)
        worker.stop()
        await running
        alive = await webhook_workers_check()
        assert alive.ok and f":{os.getpid()}" in alive.detail

        # The worker died a while ago: fine while nothing is owed, a failure once something is.
        await Heartbeat.filter(name=HEARTBEAT).update(beat_at=utcnow() - dt.timedelta(minutes=5))
        assert (await webhook_workers_check()).ok
        await insert_endpoint(settings, merchant.merchant.id, "https://hooks.example/w")
        await emit_events(merchant.merchant.id, 2)
        owed = await webhook_workers_check()
        assert not owed.ok and "2 deliveries are due" in owed.detail
        assert "kassa worker" in owed.detail and "300 s ago" in owed.detail
    finally:
        await WebhookEndpoint.all().delete()
        await Heartbeat.filter(name=HEARTBEAT).delete()


# ----------------------------------------------------------------------------- a network


def toy_settings(database_url: str, chain: str) -> Settings:
    return make_settings(database_url, networks={TOY: {"chain": chain}})


@pytest.fixture
async def toy(app: Quart, database_url: str) -> AsyncIterator[tuple[ToyChain, Registry]]:
    """toychain enabled in a registry of its own (the app's registry stays installed)."""
    CHAINS["doctor"] = chain = ToyChain()
    settings = toy_settings(database_url, "doctor")
    registry = build_registry(settings, make_plugin_manager(settings, [ToyPlugin()]))
    await ChainCursor.filter(network=TOY).delete()
    yield chain, registry
    await ChainCursor.filter(network=TOY).delete()
    await registry.close()
    del CHAINS["doctor"]


async def cursor_at(chain: ToyChain, number: int, **fields: Any) -> None:
    block = chain.blocks[number]
    await ChainCursor.filter(network=TOY).delete()
    await ChainCursor.create(
        network=TOY,
        block_number=number,
        block_hash=block.hash,
        block_timestamp=block.timestamp,
        **fields,
    )


async def test_watcher_lag_in_chain_time_and_halts(toy: tuple[ToyChain, Registry]) -> None:
    chain, registry = toy
    network = registry.networks[TOY]

    async def watcher() -> HealthCheck:
        return by_name(await network_health(network, registry, 5.0))["watcher"]

    assert (await watcher()).ok and "not started yet" in (await watcher()).detail
    chain.mine(10)
    await cursor_at(chain, 5)  # 5 blocks of 2 s: 10 s behind
    near = await watcher()
    assert near.ok and "5 blocks (10 s) behind" in near.detail
    chain.mine(100)  # 210 s behind: more than the 120 s a watcher may lag
    far = await watcher()
    assert not far.ok and "105 blocks (210 s) behind" in far.detail
    assert "kassa worker" in far.detail
    await cursor_at(chain, len(chain.blocks) - 1, halted=True, halt_reason="deep reorg")
    halted = await watcher()
    assert not halted.ok and "halted: deep reorg" in halted.detail
    assert f"kassa networks resume {TOY}" in halted.detail


async def test_payments_waiting_for_a_watcher_that_never_ran(
    toy: tuple[ToyChain, Registry], merchant: MerchantKeys
) -> None:
    _, registry = toy
    network = registry.networks[TOY]
    session = await new_session(merchant.merchant.id)
    now = utcnow()
    payment = await Payment.create(
        id="pay_doctorwaits",
        session=session,
        merchant=merchant.merchant,
        livemode=False,
        status="pending",
        network=TOY,
        crypto_currency="TOY",
        amount_base_units=1,
        decimals=9,
        amount_fiat_cents=100,
        fiat_currency="USD",
        created_at=now,
        updated_at=now,
    )
    try:
        waiting = by_name(await network_health(network, registry, 5.0))["watcher"]
        assert not waiting.ok and "1 payments wait" in waiting.detail
    finally:
        await payment.delete()


async def test_every_check_of_a_network_the_core_does_not_know(
    toy: tuple[ToyChain, Registry], database_url: str
) -> None:
    """The plugin's checks appear under the network's key, with the core's watcher check."""
    chain, _ = toy
    settings = toy_settings(database_url, "doctor")
    checks = by_name(await checks_after_database(settings, True, [ToyPlugin()]))
    assert checks["networks"].ok and TOY in checks["networks"].detail
    assert checks[f"{TOY}: node"].ok and checks[f"{TOY}: watcher"].ok
    chain.reachable = False
    down = by_name(await checks_after_database(settings, True, [ToyPlugin()]))
    assert not down[f"{TOY}: node"].ok and "start its node" in down[f"{TOY}: node"].detail
    assert down["migrations"].ok and down["networks"].ok


@dataclass(eq=False)
class CountingNetwork(FakeNetwork):
    """A fake network whose checks take a while and count how often they ran."""

    delay: float = 0.0
    runs: int = 0

    async def health(self) -> list[HealthCheck]:
        self.runs += 1
        await asyncio.sleep(self.delay)
        return [HealthCheck("fake", True, f"run {self.runs}")]


async def test_the_api_cache_shares_one_computation_and_expires(
    app: Quart, database_url: str
) -> None:
    registry = current_registry()
    network = CountingNetwork("doctor-fake", 999_001, delay=0.2)
    cache = HealthCache(max_age=60.0, seconds=5.0)
    answers = await asyncio.gather(*(cache.checks(network, registry) for _ in range(5)))
    assert network.runs == 1 and all(a == answers[0] for a in answers)
    assert (await cache.checks(network, registry))[0].detail == "run 1"
    cache.max_age = 0.0
    assert (await cache.checks(network, registry))[0].detail == "run 2"

    slow = CountingNetwork("doctor-slow", 999_002, delay=10.0)
    timed_out = await HealthCache(seconds=0.2).checks(slow, registry)
    assert timed_out[0].name == "health" and not timed_out[0].ok
    assert "did not finish within 0.2 s" in timed_out[0].detail
