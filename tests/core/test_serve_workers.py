"""`kassa serve --workers N`: N processes answer on one port; a child that dies is reported
and replaced; SIGTERM stops them all. SQLite refuses it (one process serves SQLite)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_ECB_URL, TEST_FIXED_RATES, TEST_NETWORKS, free_port

REPO = Path(__file__).resolve().parents[2]


def serve_env(database_url: str, port: int, tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KASSA_")},
        "PYTHONPATH": str(REPO),
        "KASSA_DATABASE_URL": database_url,
        "KASSA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KASSA_SECRET_KEY": "test-operator-secret-key-0123456789abcdef",
        "KASSA_RUN_BACKGROUND_LOOPS": "false",
        "KASSA_LOG_LEVEL": "INFO",
        "KASSA_CONFIG_FILE": str(tmp_path / "absent.toml"),
        "KASSA_NETWORKS": json.dumps(TEST_NETWORKS),
        "KASSA_FIXED_RATES": json.dumps(TEST_FIXED_RATES),
        "KASSA_ECB_URL": TEST_ECB_URL,
    }


def children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def established_inodes(port: int) -> set[str]:
    """Inodes of the server side of established TCP connections to `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    return inodes


def answered_by(port: int, pids: set[int], connections: list[socket.socket]) -> set[int]:
    """Open 20 more keep-alive connections at once, each answered; the pids holding any."""
    burst = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
    connections.extend(burst)
    for conn in burst:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: kassa\r\n\r\n")
    for conn in burst:
        assert conn.recv(4096).startswith(b"HTTP/1.1 200")
    served = established_inodes(port)
    return {pid for pid in pids if socket_inodes(pid) & served}


def wait_until(check, within: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
    except OSError:
        return False
    return True


@pytest.fixture
def supervisor(database_url: str, dialect: str, tmp_path: Path) -> Iterator[tuple[int, Popen]]:
    if dialect != "postgres":
        pytest.skip("--workers needs PostgreSQL (see test_sqlite_refuses_workers)")
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port)],
        cwd=tmp_path,
        env=serve_env(database_url, port, tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: healthy(port), 60, "kassa serve --workers 2 to answer")
        yield port, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


Popen = subprocess.Popen


def test_two_processes_answer_on_one_port_and_stop_on_sigterm(
    supervisor: tuple[int, Popen], tmp_path: Path
) -> None:
    port, process = supervisor
    pids = wait_until(lambda: len(children(process.pid)) == 2 and children(process.pid), 30, "2")
    connections: list[socket.socket] = []
    try:
        served: set[int] = set()
        # Whichever child wakes first accepts (the second may still be starting): open
        # connections in bursts until both hold some.
        deadline = time.monotonic() + 60
        while served != pids and time.monotonic() < deadline:
            served = answered_by(port, pids, connections)
            time.sleep(0.2)
        assert served == pids, f"answered by {served} of {pids}"
    finally:
        for conn in connections:
            conn.close()

    # A child killed outright is reported and replaced; the port keeps answering.
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)

    def replacement() -> set[int] | None:
        now = children(process.pid)
        return now if len(now) == 2 and victim not in now else None

    replaced = wait_until(replacement, 30, "a replacement child")
    wait_until(lambda: healthy(port), 60, "the server to answer after the restart")
    log = (tmp_path / "serve.log").read_text()
    assert f"(pid {victim}) was killed by SIGKILL; restarting it" in log

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0
    for pid in replaced:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
    assert not healthy(port)


def test_sqlite_refuses_workers(database_url: str, dialect: str, tmp_path: Path) -> None:
    if dialect != "sqlite":
        pytest.skip("the SQLite refusal")
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port)],
        cwd=tmp_path,
        env=serve_env(database_url, port, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers needs PostgreSQL" in result.stderr
