"""A private PostgreSQL cluster for one test: initdb into a temp dir, started on a free
loopback port, restartable (`pg_ctl restart -m fast`) without touching the suite's server,
removed at the end.

Debian installs the server binaries under /usr/lib/postgresql/<version>/bin, off PATH.
initdb refuses to run as root: as root the cluster runs as the `postgres` system user.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import free_port


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_postgres_bin() -> Path:
    """The newest Debian PostgreSQL bin directory holding initdb and pg_ctl."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for folder in reversed(candidates):
        if all(os.access(Path(folder, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    raise PostgresMissing(
        "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or "
        "on PATH: install Debian's postgresql package"
    )


class PrivatePostgres:
    """One throwaway cluster; `url(database)` is a trust-auth URL on 127.0.0.1."""

    def __init__(self) -> None:
        self.bin = find_postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="kassa-chaos-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.restarts = 0
        self._user: str | None = None
        if os.geteuid() == 0:
            # initdb and postgres refuse root: run them as the packaged system user.
            pwd.getpwnam("postgres")
            self._user = "postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}): "
                f"{result.stdout}{result.stderr}\n{tail}"
            )

    def start(self) -> PrivatePostgres:
        self.socket_dir.mkdir()
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self._pg_ctl("start")
        # pg_ctl detaches the server: stop it even if the test run ends without cleanup.
        atexit.register(self.stop)
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off"
        )
        self._run(
            "pg_ctl",
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            *extra,
        )

    def restart(self) -> None:
        """Stop fast (open connections are cut, as on a failover) and start again."""
        self._pg_ctl("restart", "-m", "fast")
        self.restarts += 1

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if not self.root.exists():
            return  # stopped and removed already
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)
