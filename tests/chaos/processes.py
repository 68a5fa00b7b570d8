"""The Kassa processes of the chaos test: `kassa serve` and `kassa worker` subprocesses on one
database, each in its own process group so `kill -9` takes the whole process, with a record
of every kill and every restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from plugins.evm.anvil import die_with_parent

REPO = Path(__file__).resolve().parents[2]


@dataclass
class LifeEvent:
    """A kill or a (re)start of one process slot, at a monotonic time."""

    kind: str  # "start", "kill", "restart"
    name: str
    pid: int
    at: float


@dataclass
class KassaProcess:
    """One slot (e.g. "serve-1", "worker-0"): the process in it may be killed and replaced."""

    name: str
    role: str  # "serve" or "worker"
    env: dict[str, str]
    log_path: Path
    port: int | None = None  # serve only
    command_prefix: list[str] = field(default_factory=lambda: [sys.executable, "-m", "app.cli"])
    process: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)

    def _spawn(self) -> None:
        args = [*self.command_prefix, self.role]
        if self.role == "serve":
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 takes all of it
                preexec_fn=die_with_parent(),  # noqa: PLW1509 - no orphan outlives the test
            )
        self.pids.append(self.process.pid)

    async def wait_ready(self, deadline_seconds: float = 60) -> None:
        """serve: until /healthz answers; worker: until it has run a moment without exiting."""
        assert self.process is not None
        deadline = time.monotonic() + deadline_seconds
        if self.role == "worker":
            await asyncio.sleep(0.5)
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}: {self.tail()}"
                )
            return
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}: {self.tail()}"
                    )
                try:
                    answer = await client.get(f"http://127.0.0.1:{self.port}/healthz")
                    if answer.status_code < 500:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} did not answer within {deadline_seconds:g} s: {self.tail()}"
                    )
                await asyncio.sleep(0.1)

    def kill9(self) -> int:
        assert self.process is not None
        pid = self.process.pid
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        return pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Fleet:
    """All slots, and the record of kills and (re)starts the ledger checker reads."""

    members: list[KassaProcess]
    history: list[LifeEvent] = field(default_factory=list)

    def of_role(self, role: str) -> list[KassaProcess]:
        return [m for m in self.members if m.role == role]

    async def start_all(self) -> None:
        for member in self.members:
            member._spawn()
            self.history.append(LifeEvent("start", member.name, member.pids[-1], time.monotonic()))
        await asyncio.gather(*(m.wait_ready() for m in self.members))

    async def kill_and_restart(self, member: KassaProcess, down_seconds: float) -> None:
        pid = member.kill9()
        self.history.append(LifeEvent("kill", member.name, pid, time.monotonic()))
        await asyncio.sleep(down_seconds)
        member._spawn()
        self.history.append(LifeEvent("restart", member.name, member.pids[-1], time.monotonic()))
        await member.wait_ready()

    def stop_all(self) -> None:
        for member in self.members:
            member.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {m.name} ---\n{m.tail(1500)}" for m in self.members)
