"""The operator CLI is scriptable: `--json` prints exactly one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from app.keys import hash_secret
from app.models import ApiKey, AuditLog, Merchant
from tests.conftest import free_port


def kassa(
    database_url: str,
    cwd: Path,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return python(database_url, cwd, "-m", "app.cli", *args, check=check, env=env)


def python(
    database_url: str,
    cwd: Path,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """This interpreter in `cwd`, with no Kassa settings but the database, no config file and
    the variables in `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env = {**base, **(env or {})}
    env.update(KASSA_DATABASE_URL=database_url, KASSA_CONFIG_FILE=str(cwd / "none.toml"))
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


async def test_merchants_and_keys(app, database_url: str, tmp_path: Path) -> None:
    out = kassa(
        database_url,
        tmp_path,
        "merchants",
        "create",
        "--name",
        "Café Ünïcode",
        "--payout",
        "devnet=0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "--json",
    )
    merchant_id = json.loads(out.stdout)["id"]
    assert merchant_id.startswith("mer_")
    merchant = await Merchant.get(id=merchant_id)
    assert merchant.name == "Café Ünïcode"
    assert merchant.payout_addresses == {"devnet": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}

    for mode in ("test", "live"):
        created = json.loads(
            kassa(
                database_url,
                tmp_path,
                "keys",
                "create",
                "--merchant",
                merchant_id,
                "--mode",
                mode,
                "--json",
            ).stdout
        )
        assert set(created) == {"id", "secret"}
        assert created["secret"].startswith(f"sk_{mode}_")
        assert len(created["secret"]) >= len(f"sk_{mode}_") + 22  # ≥ 128 random bits
        key = await ApiKey.get(id=created["id"])
        assert key.secret_sha256 == hash_secret(created["secret"])
        assert created["secret"] not in str(key.__dict__)

    revoked = kassa(database_url, tmp_path, "keys", "revoke", created["id"], "--json")
    assert json.loads(revoked.stdout) == {"id": created["id"], "revoked": True}
    assert (await ApiKey.get(id=created["id"])).revoked_at is not None
    again = kassa(database_url, tmp_path, "keys", "revoke", created["id"], check=False)
    assert again.returncode == 2 and "no active key" in again.stderr
    # Who did it is in the merchant's audit log, as for keys made in the dashboard.
    actions = await AuditLog.filter(object_id=created["id"]).values_list("actor", "action")
    assert sorted(actions) == [("cli", "api_key.created"), ("cli", "api_key.revoked")]


async def test_cli_errors_are_plain(app, database_url: str, tmp_path: Path) -> None:
    missing = kassa(
        database_url,
        tmp_path,
        "keys",
        "create",
        "--merchant",
        "mer_nope",
        "--mode",
        "test",
        check=False,
    )
    assert missing.returncode == 2 and "no merchant" in missing.stderr
    bad_payout = kassa(
        database_url,
        tmp_path,
        "merchants",
        "create",
        "--name",
        "x",
        "--payout",
        "nonsense",
        check=False,
    )
    assert bad_payout.returncode == 2 and "NETWORK=ADDRESS" in bad_payout.stderr
    assert "Traceback" not in missing.stderr + bad_payout.stderr


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'fresh.db'}"
    first = json.loads(kassa(url, tmp_path, "migrate", "--json").stdout)
    assert first["applied"], "a fresh database gets every migration"
    second = json.loads(kassa(url, tmp_path, "migrate", "--json").stdout)
    assert second == {"applied": []}


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    out = kassa(f"sqlite://{tmp_path / 'unused.db'}", tmp_path, "--version")
    assert out.stdout.strip() == f"kassa {version('kassa')}"


def test_migrate_without_migrations_fails_loudly(tmp_path: Path) -> None:
    """An installation missing its migrations: aerich alone would call the database up to date."""
    empty = tmp_path / "migrations"
    (empty / "sqlite" / "models").mkdir(parents=True)
    database = tmp_path / "kassa.db"
    result = python(
        f"sqlite://{database}",
        tmp_path,
        "-c",
        "import pathlib, sys, app.db\n"
        f"app.db.migrations_folder = lambda: pathlib.Path({str(empty)!r})\n"
        "from app.cli import main\n"
        "sys.exit(main(['migrate']))",
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f"kassa: migrate: no migrations in {empty / 'sqlite' / 'models'}" in result.stderr
    assert "Traceback" not in result.stderr and "up to date" not in result.stdout
    assert not database.exists()


def test_migrate_on_a_dead_database_fails_loudly(tmp_path: Path) -> None:
    missing_directory = tmp_path / "missing"
    closed_port = free_port()
    for url, where in (
        # SQLite creates the file, not its directory (aiosqlite used to hang here).
        (f"sqlite://{missing_directory / 'kassa.db'}", f"SQLite database {missing_directory}"),
        (
            f"postgres://kassa:s3cret@127.0.0.1:{closed_port}/kassa",
            f"PostgreSQL database 'kassa' at 127.0.0.1:{closed_port}",
        ),
    ):
        result = kassa(url, tmp_path, "migrate", check=False)
        assert result.returncode == 2, result.stderr
        assert f"kassa: migrate: cannot open the {where}" in result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    assert not missing_directory.exists()
