"""`kassa dev` as a process: Ctrl-C stops everything it started; a busy port fails early."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.checkout.browser import start_kassa_dev
from tests.conftest import free_port

pytestmark = pytest.mark.chain


def test_ctrl_c_stops_server_and_anvil(tmp_path: Path) -> None:
    dev = start_kassa_dev(tmp_path)
    try:
        assert httpx.get(f"{dev.origin}/v1/openapi.json").status_code == 200
        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(timeout=20) == 0
        for url in (dev.origin, dev.info["rpc_url"]):
            with pytest.raises(httpx.ConnectError):
                httpx.get(url, timeout=2)
        # State for the next run: the chain, the deployment, the demo merchant, the secret.
        kept = {path.name for path in (tmp_path / ".kassa").iterdir()}
        assert {"anvil-state.json", "deployment.json", "merchant.json", "secret_key"} <= kept
        assert (tmp_path / "kassa.db").exists()
    finally:
        dev.stop()


def test_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "dev", "--json", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "KASSA_CONFIG_FILE": str(tmp_path / "absent.toml")},
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / ".kassa").exists()
