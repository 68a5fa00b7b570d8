"""`kassa serve` never runs without an operator secret: the first `kassa migrate` on SQLite
(or with `secret_key_file`) creates one in a file only its user can read, `kassa serve` and
the doctor read it when `KASSA_SECRET_KEY` is empty, and without either `kassa serve` refuses
to start. Webhook endpoints are never a 500."""

from __future__ import annotations

import json
import stat
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_postgres_database, start_live_server
from tests.core.test_cli import kassa


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty database (never migrated) of each dialect."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'kassa.db'}"
        return
    async with fresh_postgres_database("kassa_secret") as url:
        yield url


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_migrate_creates_the_secret_key_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    url = f"sqlite://{tmp_path / 'data' / 'kassa.db'}"
    first = json.loads(kassa(url, tmp_path, "migrate", "--json").stdout)
    path = tmp_path / "data" / ".kassa" / "secret_key"
    assert first["created_secret_key_file"] == str(path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    secret = path.read_text().strip()
    assert len(secret) >= 64
    # Once: a second migrate keeps it (the stored webhook secrets were sealed with it).
    assert json.loads(kassa(url, tmp_path, "migrate", "--json").stdout) == {"applied": []}
    assert path.read_text().strip() == secret
    text = kassa(url, tmp_path, "migrate").stdout
    assert text.strip() == "database is up to date"


def test_a_configured_secret_key_creates_no_file(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'kassa.db'}"
    result = kassa(url, tmp_path, "migrate", "--json", env={"KASSA_SECRET_KEY": "k" * 32})
    assert "created_secret_key_file" not in json.loads(result.stdout)
    assert not (tmp_path / ".kassa").exists()


def post_webhook_endpoint(base_url: str, api_key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base_url}/v1/webhook_endpoints",
        data=json.dumps({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def api_key_for(url: str, cwd: Path) -> str:
    merchant = json.loads(kassa(url, cwd, "merchants", "create", "--name", "Shop", "--json").stdout)
    created = kassa(url, cwd, "keys", "create", "--merchant", merchant["id"], "--mode", "test")
    return created.stdout.split("store it now): ", 1)[1].strip()


def serve_and_create_an_endpoint(url: str, cwd: Path, env: dict[str, str]) -> None:
    """`kassa serve` without KASSA_SECRET_KEY stores a webhook secret that the doctor, with
    the same settings, can open."""
    api_key = api_key_for(url, cwd)
    server = start_live_server(
        url,
        cwd,
        {"KASSA_SECRET_KEY": "", "KASSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true", **env},
    )
    try:
        status, body = post_webhook_endpoint(server.base_url, api_key)
    finally:
        server.stop()
    assert status == 200, body
    assert body["secret"].startswith("whsec_")
    doctor = kassa(url, cwd, "doctor", "--json", check=False, env=env)
    checks = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
    assert checks["secret key"]["ok"], checks["secret key"]
    assert "opens the stored webhook secrets" in checks["secret key"]["detail"]


async def test_serve_without_a_secret_key_never_answers_500(
    fresh_database: str, tmp_path: Path
) -> None:
    url = fresh_database
    if url.startswith("sqlite"):
        kassa(url, tmp_path, "migrate")
        serve_and_create_an_endpoint(url, tmp_path, {})
        return
    # PostgreSQL: every host must share one key, so nothing is created by itself …
    assert "created_secret_key_file" not in json.loads(
        kassa(url, tmp_path, "migrate", "--json").stdout
    )
    refused = kassa(url, tmp_path, "serve", "--port", "9", check=False)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("kassa: serve: KASSA_SECRET_KEY is not set")
    assert "Traceback" not in refused.stderr
    # … unless the operator names the file (on storage every host reads).
    key_file = tmp_path / "shared" / "kassa-secret"
    env = {"KASSA_SECRET_KEY_FILE": str(key_file)}
    migrated = json.loads(kassa(url, tmp_path, "migrate", "--json", env=env).stdout)
    assert migrated["created_secret_key_file"] == str(key_file)
    assert mode(key_file) == 0o600
    serve_and_create_an_endpoint(url, tmp_path, env)
