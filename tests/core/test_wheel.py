"""Packaging: Kassa installed from its wheel works outside the checkout (issue 15).

`python -m build --no-isolation` builds the sdist and then the wheel from the unpacked sdist, so
the wheel can only carry what the sdist does; it needs no network (the build backend comes from
this venv). The wheel goes into a fresh virtualenv in a temporary directory with `--no-deps`; the
dependencies come from this venv's site-packages through a plain .pth line, which adds that
folder to `sys.path` without running the .pth files in it, so the checkout's editable-install
finder stays inactive. Every command runs in an empty directory: nothing can come from the
checkout, which the first tests check.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import migration_files
from tests.chain import DEVNET, DevChain, deploy_devchain, start_devnet
from tests.checkout.conftest import SESSION_BODY
from tests.conftest import (
    TEST_NETWORKS,
    TEST_PAYOUT,
    free_port,
    fresh_postgres_database,
    start_live_server,
)

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
# Where each folder of the tree that the program reads at run time lands in the wheel
# (pyproject.toml: packages, package-dir, package-data).
WHEEL_PLACES = {
    "app": "app",
    "plugins": "plugins",
    "templates": "app/resources/templates",
    "static": "app/resources/static",
    "migrations": "app/resources/migrations",
    "contracts/artifacts": "plugins/evm/contracts/artifacts",
}
CONTENT_TYPES = {
    ".css": {"text/css"},
    ".js": {"text/javascript", "application/javascript"},
    ".svg": {"image/svg+xml"},
}


def runtime_files() -> dict[str, str]:
    """Every file of the WHEEL_PLACES folders (bytecode caches aside): repository path ->
    path in the wheel."""
    files = {}
    for folder, place in WHEEL_PLACES.items():
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                inside = path.relative_to(REPO / folder).as_posix()
                files[path.relative_to(REPO).as_posix()] = f"{place}/{inside}"
    return files


def checkout_copy(static_name: str) -> Path:
    """The checkout's copy of a file served at /static/NAME (`plugins/P/…`: plugin P's)."""
    if static_name.startswith("plugins/"):
        plugin, _, inside = static_name.removeprefix("plugins/").partition("/")
        return REPO / "plugins" / plugin / "static" / inside
    return REPO / "static" / static_name


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    [wheel] = out.glob("kassa-*.whl")
    [sdist] = out.glob("kassa-*.tar.gz")
    return Dist(wheel, sdist)


@dataclass(frozen=True)
class Installed:
    """The wheel in a fresh virtualenv, and an empty working directory for its commands."""

    venv: Path
    workdir: Path

    @property
    def kassa(self) -> Path:
        return self.venv / "bin" / "kassa"

    def env(self, **kassa_settings: str) -> dict[str, str]:
        """This process's environment without Kassa settings or a PYTHONPATH, plus
        `KASSA_<NAME>` for each keyword."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("KASSA_") and key != "PYTHONPATH"
        }
        env["KASSA_CONFIG_FILE"] = str(self.workdir / "absent.toml")
        env.update({f"KASSA_{name.upper()}": value for name, value in kassa_settings.items()})
        return env

    def run(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.kassa), *args],
            cwd=self.workdir,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0 or not check, f"kassa {' '.join(args)}: {result.stderr}"
        return result

    def run_json(self, *args: str, database_url: str) -> Any:
        """`kassa ARGS --json` on `database_url`, with the test networks enabled."""
        env = self.env(database_url=database_url, networks=json.dumps(TEST_NETWORKS))
        return json.loads(self.run(*args, "--json", env=env).stdout)


@pytest.fixture(scope="module")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", str(dist.wheel)],
        check=True,
        timeout=120,
    )
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dependencies = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    Path(site_packages, "kassa-test-dependencies.pth").write_text("\n".join(dependencies) + "\n")
    workdir = root / "work"
    workdir.mkdir()
    return Installed(venv, workdir)


def test_wheel_and_sdist_carry_every_runtime_file(dist: Dist) -> None:
    expected = runtime_files()
    for must in (
        "migrations/sqlite/models/",
        "migrations/postgres/models/",
        "templates/checkout.html",
        "static/vendor/htmx-",
        "contracts/artifacts/KassaCheckout.json",
        "contracts/artifacts/test/",  # the devnet deploys the test tokens
        "plugins/evm/templates/",
        "plugins/evm/static/",
    ):
        assert any(path.startswith(must) for path in expected), must
    wheel = set(zipfile.ZipFile(dist.wheel).namelist())
    with tarfile.open(dist.sdist) as archive:
        sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert sorted(path for path, place in expected.items() if place not in wheel) == []
    assert sorted(path for path in expected if path not in sdist) == []


def test_installed_kassa_runs_from_the_virtualenv_not_the_checkout(installed: Installed) -> None:
    assert installed.run("--version").stdout.strip() == f"kassa {VERSION}"
    probe = (
        "import json, sys, app, plugins.evm.contract\n"
        "from app.resources import templates_folder\n"
        "print(json.dumps({'modules': [app.__file__, plugins.evm.contract.__file__,\n"
        "    str(templates_folder()), str(plugins.evm.contract.artifacts_dir())],\n"
        "    'editable': [name for name in sys.modules if 'editable' in name]}))"
    )
    found = json.loads(
        subprocess.run(
            [str(installed.venv / "bin" / "python"), "-c", probe],
            cwd=installed.workdir,
            env=installed.env(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert found["editable"] == []
    for path in found["modules"]:
        assert Path(path).is_relative_to(installed.venv), path


def test_operator_first_steps_on_sqlite(
    installed: Installed, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite://{installed.workdir / 'kassa.db'}"
    assert installed.run_json("migrate", database_url=url)["applied"] == migration_files(url)
    merchant = installed.run_json(
        "merchants",
        "create",
        "--name",
        "Wheel Shop",
        "--payout",
        f"devnet={TEST_PAYOUT}",
        database_url=url,
    )
    key = installed.run_json(
        "keys", "create", "--merchant", merchant["id"], "--mode", "test", database_url=url
    )
    monkeypatch.delenv("PYTHONPATH", raising=False)  # start_live_server passes the rest on
    server = start_live_server(url, installed.workdir, kassa=[str(installed.kassa)])
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            created = http.post(
                "/v1/checkout/sessions",
                json=SESSION_BODY,
                headers={"Authorization": f"Bearer {key['secret']}"},
            )
            assert created.status_code == 200, created.text
            page = http.get(created.json()["checkout_url"])
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "Wheel Shop" in page.text and "$12.34" in page.text
            assets = re.findall(r'(?:src|href)="/static/([^"?]+)\?v=[0-9a-f]+"', page.text)
            for name in ("checkout.css", "vendor/htmx-2.0.11.min.js", "plugins/evm/wallet.js"):
                assert name in assets
            for name in assets:
                response = http.get(f"/static/{name}")
                assert response.status_code == 200, name
                content_type = response.headers["content-type"].split(";")[0]
                assert content_type in CONTENT_TYPES[Path(name).suffix], (name, content_type)
                assert response.content == checkout_copy(name).read_bytes(), name
    finally:
        server.stop()


async def test_migrate_on_postgresql(installed: Installed) -> None:
    async with fresh_postgres_database("kassa_wheel") as url:
        for expected in (migration_files(url), []):
            migrated = await asyncio.to_thread(installed.run_json, "migrate", database_url=url)
            assert migrated["applied"] == expected


def test_dev_without_anvil_says_how_to_install_it(installed: Installed) -> None:
    # No anvil on PATH and no node_modules above the working directory or the installed code.
    env = {**installed.env(), "PATH": str(installed.venv / "bin")}
    result = installed.run("dev", "--port", str(free_port()), env=env, check=False)
    assert result.returncode == 2, result.stderr
    assert "npm install -g @foundry-rs/anvil" in result.stderr
    assert "npm ci" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
async def devchain() -> AsyncIterator[DevChain]:
    """A devnet with the payment contract, the deposit factory and the test tokens."""
    node = start_devnet()
    try:
        chain = await deploy_devchain(node)
        yield chain
        await chain.w3.provider.disconnect()  # type: ignore[attr-defined]
    finally:
        node.stop()


async def test_doctor_against_a_devnet_and_a_dead_rpc(
    installed: Installed, devchain: DevChain
) -> None:
    """The installed `kassa doctor` checks the contracts against the artifacts it ships."""
    url = f"sqlite://{installed.workdir / 'doctor.db'}"
    installed.run("migrate", env=installed.env(database_url=url))

    def doctor(rpc_url: str) -> tuple[int, dict[str, bool]]:
        network = {
            "rpc_urls": [rpc_url],
            "contract_address": devchain.contract_address,
            "signer_key": devchain.signer_key,
            "deposit_factory": devchain.deposit_factory,
            "sweeper_key": devchain.sweeper_key,
        }
        env = installed.env(
            database_url=url,
            secret_key="test-operator-secret-key-0123456789abcdef",
            networks=json.dumps({DEVNET: network}),
        )
        result = installed.run("doctor", "--json", env=env, check=False)
        checks = json.loads(result.stdout)["checks"]
        return result.returncode, {check["name"]: check["ok"] for check in checks}

    status, checks = await asyncio.to_thread(doctor, devchain.node.rpc_url)
    assert status == 0 and all(checks.values()), checks
    assert checks[f"{DEVNET}: payment contract"] and checks[f"{DEVNET}: deposit factory"]
    status, checks = await asyncio.to_thread(doctor, f"http://127.0.0.1:{free_port()}")
    assert status == 2 and not checks[f"{DEVNET}: rpc #1"], checks
    assert checks["database"] and checks["migrations"] and checks["secret key"]
