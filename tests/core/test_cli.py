"""The operator CLI is scriptable: `--json` prints exactly one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.keys import hash_secret
from app.models import ApiKey, Merchant


def kassa(
    database_url: str, cwd: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env.update(KASSA_DATABASE_URL=database_url, KASSA_CONFIG_FILE=str(cwd / "none.toml"))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
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
