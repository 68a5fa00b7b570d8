"""Running wrk and reading its output, shared by the benchmarks (bench/api.py, bench/sse.py).

wrk is a compiled HTTP load generator (Debian package `wrk`; `make bench` installs it): a
closed loop of `connections` keep-alive connections on `threads` threads. Its percentiles
(`--latency`) are corrected for coordinated omission: a stall counts for the requests an
open-loop client would have sent meanwhile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# Beyond its duration, wrk waits up to its request timeout (2 s by default) for replies.
_GRACE_SECONDS = 30.0


class WrkFailed(RuntimeError):
    """wrk could not run, or the server answered anything but 2xx/3xx, or sockets failed."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    wrk_cpu_percent: float  # wrk's own CPU time over its wall time (100 = one core)
    output: str


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkFailed("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _latency_ms(output: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise WrkFailed(f"no {label} line in wrk's output:\n{output}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def check_clean(output: str) -> None:
    """Every reply 2xx or 3xx and no socket error, or WrkFailed with wrk's report."""
    if "Non-2xx or 3xx responses" in output:
        raise WrkFailed(f"the server answered errors under wrk:\n{output}")
    if "Socket errors" in output:
        raise WrkFailed(f"connections failed under wrk:\n{output}")


def parse(output: str, wrk_cpu_percent: float = 0.0) -> WrkResult:
    """The figures of a clean `wrk --latency` run (see check_clean)."""
    check_clean(output)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    if rate is None or total is None:
        raise WrkFailed(f"no request rate in wrk's output:\n{output}")
    if int(total.group(1)) == 0:
        raise WrkFailed(f"no request completed (a stalled server?):\n{output}")
    return WrkResult(
        requests=int(total.group(1)),
        requests_per_second=float(rate.group(1)),
        p50_ms=_latency_ms(output, "50%"),
        p99_ms=_latency_ms(output, "99%"),
        wrk_cpu_percent=wrk_cpu_percent,
        output=output,
    )


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: Sequence[str] = (),
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> WrkResult:
    """One wrk run with `--latency`; blocks for about `seconds`. Also measures wrk's CPU
    (from its rusage), so a caller can tell whether the load generator was the bottleneck."""
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
    ]
    for header in headers:
        command += ["-H", header]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]  # the script's init(args)
    with tempfile.TemporaryFile("w+") as output_file:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=output_file, stderr=subprocess.STDOUT)
        deadline = started + seconds + _GRACE_SECONDS
        # wait4 rather than wait: the rusage of this child alone, not of every child reaped.
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        output_file.seek(0)
        output = output_file.read()
    if process.returncode != 0:
        raise WrkFailed(f"wrk exited with {process.returncode}:\n{output}")
    cpu_percent = (usage.ru_utime + usage.ru_stime) / elapsed * 100
    return parse(output, cpu_percent)
