"""`kassa users create | reset-password`: scriptable, the password only ever on stdin."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from quart import Quart

from app.cli import CliError, _password_from_stdin
from app.dashboard.passwords import verify_password
from app.dashboard.users import Role, UserError, create_user, reset_password
from app.models import AuditLog, DashboardSession, User, random_base62
from tests.conftest import MerchantKeys
from tests.dashboard.conftest import PASSWORD, DashboardClient


def users(database_url: str, cwd: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env.update(KASSA_DATABASE_URL=database_url, KASSA_CONFIG_FILE=str(cwd / "none.toml"))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "users", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_create_and_reset_password(
    app: Quart, database_url: str, merchant: MerchantKeys, tmp_path: Path
) -> None:
    mid = merchant.merchant.id
    created = users(
        database_url,
        tmp_path,
        PASSWORD + "\n",
        "create",
        "--merchant",
        mid,
        "--email",
        "Ops@Shop.Example",
        "--password-stdin",
        "--role",
        "developer",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    answer = json.loads(created.stdout)
    assert answer["email"] == "ops@shop.example" and answer["role"] == "developer"
    user = await User.get(id=answer["id"])
    assert user.merchant_id == mid and verify_password(user.password_hash, PASSWORD)
    assert await AuditLog.filter(object_id=user.id, action="user.created", actor="cli").exists()

    client = DashboardClient(app)
    assert (await client.sign_in("ops@shop.example")).status_code == 303
    assert await DashboardSession.filter(user_id=user.id).exists()

    new_password = "another long passphrase"
    reset = users(
        database_url,
        tmp_path,
        new_password + "\n",
        "reset-password",
        "--email",
        "ops@shop.example",
        "--password-stdin",
    )
    assert reset.returncode == 0, reset.stderr
    assert "signed out" in reset.stdout
    # The reset signs the user out everywhere; only the new password works.
    assert not await DashboardSession.filter(user_id=user.id).exists()
    assert (await client.get("/dashboard/")).status_code == 303
    assert (await DashboardClient(app).sign_in("ops@shop.example")).status_code == 401
    assert (await DashboardClient(app).sign_in("ops@shop.example", new_password)).status_code == 303


async def test_bad_input_is_a_plain_error(
    app: Quart, database_url: str, merchant: MerchantKeys, tmp_path: Path
) -> None:
    args = ("create", "--merchant", merchant.merchant.id, "--password-stdin")
    result = users(database_url, tmp_path, "short\n", *args, "--email", "a@shop.example")
    assert result.returncode == 2
    assert "at least 12 characters" in result.stderr and "Traceback" not in result.stderr


def test_an_empty_stdin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    with pytest.raises(CliError, match="held no password"):
        _password_from_stdin()


async def test_user_errors(app: Quart, merchant: MerchantKeys) -> None:
    mid = merchant.merchant.id
    with pytest.raises(UserError, match="is not an e-mail address"):
        await create_user(mid, "not-an-address", PASSWORD, Role.OWNER, "cli")
    with pytest.raises(UserError, match="no merchant"):
        await create_user("mer_nope", "b@shop.example", PASSWORD, Role.OWNER, "cli")
    with pytest.raises(UserError, match="no user"):
        await reset_password("nobody@shop.example", PASSWORD, "cli")
    email = f"twice-{random_base62(6).lower()}@shop.example"
    await create_user(mid, email, PASSWORD, Role.VIEWER, "cli")
    with pytest.raises(UserError, match="exists already"):
        await create_user(mid, email.upper(), PASSWORD, Role.VIEWER, "cli")
