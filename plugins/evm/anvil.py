"""The one anvil launcher: `kassa dev`, the tests and the benchmarks start local chains here.

`AnvilNode` runs one anvil process bound to 127.0.0.1 on a port the OS picks (``--port 0``;
the port is read back from anvil's "Listening on" line, so there is no race for a free port).
The process is killed on `stop()`, on leaving a ``with`` block, at interpreter exit, and - on
Linux - when the Python process dies (parent-death signal), so no anvil outlives its test run.

    with AnvilNode(chain_id=31338, extra_args=["--slots-in-an-epoch", "1"]) as node:
        w3 = AsyncWeb3(AsyncHTTPProvider(node.rpc_url))
        key = node.private_keys[0]
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from eth_utils import to_checksum_address

DEFAULT_CHAIN_ID = 31337
# The npm package @foundry-rs/anvil installs the binary for this platform as an optional
# dependency (@foundry-rs/anvil-linux-amd64 ...); its own `anvil` command is a node wrapper.
NPM_BINARIES = "@foundry-rs/anvil-*/bin/anvil"
# A Kassa checkout, when this module is imported from one (an editable install, the test
# suite): its `npm ci` pins anvil (package.json). An installed wheel has no node_modules here.
SOURCE_TREE = Path(__file__).resolve().parents[2]
INSTALL_HINT = (
    "install it with `npm install -g @foundry-rs/anvil`, or run `npm ci` in a Kassa checkout "
    "(or put Foundry's `anvil` on PATH)"
)


class AnvilNotFound(RuntimeError):
    """No anvil binary: the message says how to install one."""


def _npm_anvil(start: Path) -> Path | None:
    """The npm package's anvil in the node_modules nearest to `start` (where node looks),
    else in the source tree's."""
    for folder in (start, *start.parents, SOURCE_TREE):
        for candidate in sorted((folder / "node_modules").glob(NPM_BINARIES)):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


def find_anvil() -> str:
    """The npm package's anvil (node_modules from the working directory upwards, then the
    checkout this module runs from), else `anvil` on PATH; `AnvilNotFound` says how to
    install it."""
    binary = _npm_anvil(Path.cwd())
    if binary is not None:
        return str(binary)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise AnvilNotFound(
        "anvil (the local Ethereum node `kassa dev` runs) is neither in node_modules nor "
        f"on PATH: {INSTALL_HINT}"
    )


def die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook: Linux sends the child SIGTERM when its parent dies, even by SIGKILL
    (where no Python cleanup runs); None where prctl is unavailable.

    libc is resolved here, in the parent: the hook runs between fork and exec. Linux sends the
    signal when the *thread* that started the child exits, so start children from a thread
    that outlives them (the main thread).
    """
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return hook


_LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")
# Options AnvilNode owns: it always binds 127.0.0.1 on an OS-chosen port.
_RESERVED_OPTIONS = ("--host", "--port", "-p", "--chain-id", "--config-out", "--accounts", "-a")


class AnvilStartError(RuntimeError):
    """anvil exited or did not start listening in time."""


class AnvilNode:
    """One anvil process on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        chain_id: int = DEFAULT_CHAIN_ID,
        extra_args: Sequence[str] = (),
        *,
        accounts: int = 10,
        binary: str | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        for arg in extra_args:
            if arg.split("=", 1)[0] in _RESERVED_OPTIONS:
                raise ValueError(f"AnvilNode sets {arg} itself; use its constructor arguments")
        self.chain_id = chain_id
        self.extra_args = tuple(extra_args)
        self.accounts = accounts
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.private_keys: list[str] = []
        self.addresses: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self._require_port()}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._require_port()}"

    @property
    def log_path(self) -> Path | None:
        """anvil's stdout/stderr, useful when a test fails."""
        return self._workdir / "anvil.log" if self._workdir else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> AnvilNode:
        if self._process is not None:
            raise RuntimeError("AnvilNode already started")
        binary = self.binary or find_anvil()
        self._workdir = Path(tempfile.mkdtemp(prefix="kassa-anvil-"))
        config_path = self._workdir / "config.json"
        command = [
            binary,
            "--host", "127.0.0.1",
            "--port", "0",
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--config-out", str(config_path),
            *self.extra_args,
        ]  # fmt: skip
        with open(self._workdir / "anvil.log", "wb") as log:
            # The child keeps its own copy of the log descriptor after this block closes ours.
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),
            )
        atexit.register(self.stop)
        try:
            self.port = self._wait_for_port()
            self._read_accounts(config_path)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill anvil (SIGTERM, then SIGKILL after 10 s) and remove its temporary files."""
        process, self._process = self._process, None
        if process is not None:
            atexit.unregister(self.stop)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)  # anvil writes its --state file on SIGTERM
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self.port = None

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.rpc_url if self.port else "stopped"
        return f"AnvilNode(chain_id={self.chain_id}, {where})"

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("AnvilNode is not running")
        return self.port

    def _log_text(self) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return ""
        return path.read_text(errors="replace")

    def _wait_for_port(self) -> int:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self._log_text())
            if match:
                return int(match.group(1))
            if self._process.poll() is not None:
                raise AnvilStartError(
                    f"anvil exited with {self._process.returncode}:\n{self._log_text()[-2000:]}"
                )
            time.sleep(0.02)
        raise AnvilStartError(f"anvil did not listen within {self.startup_timeout}s")

    def _read_accounts(self, config_path: Path) -> None:
        # --config-out is written before anvil starts listening.
        config = json.loads(config_path.read_text())
        self.private_keys = list(config["private_keys"])
        self.addresses = [to_checksum_address(a) for a in config["available_accounts"]]
