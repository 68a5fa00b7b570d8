"""`kassa` (app.cli) with measuring instruments, for bench/api.py; nothing here changes Kassa.

    python bench/_instrumented_server.py serve --host 127.0.0.1 --port 8000

- BENCH_SQL_TRACE=FILE: every statement the process sends to its database, one line each,
  appended to FILE. At the driver, below Tortoise, so BEGIN, COMMIT and SAVEPOINT count too:
  sqlite3's trace callback (under aiosqlite) and asyncpg's query logger.
- BENCH_PROFILE=FILE: cProfile, switched on by SIGUSR1 and off by SIGUSR2, which also writes
  its stats to FILE (pstats format). Only the main thread, where the event loop runs (for
  SQLite, the statements themselves run on aiosqlite's thread and show as waiting).
"""

from __future__ import annotations

import cProfile
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


class StatementLog:
    """Appends statements to a file, one line each, from any thread."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1)  # noqa: SIM115 (open for the process's life)
        self._lock = threading.Lock()

    def write(self, statement: str) -> None:
        line = " ".join(statement.split())
        if not line or line.startswith("--"):  # sqlite3 reports trigger entries as comments
            return
        with self._lock:
            self._file.write(line + "\n")


def trace_sqlite(log: StatementLog) -> None:
    original_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = original_connect(*args, **kwargs)
        connection.set_trace_callback(log.write)
        return connection

    sqlite3.connect = connect  # type: ignore[assignment]  # aiosqlite calls sqlite3.connect


def trace_asyncpg(log: StatementLog) -> None:
    import asyncpg
    from tortoise.backends.asyncpg.client import AsyncpgDBClient

    def record(query: Any) -> None:
        log.write(query.query)

    class TracedConnection(asyncpg.connection.Connection):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.add_query_logger(record)

    AsyncpgDBClient.connection_class = TracedConnection


def profile_on_signals(path: str) -> None:
    profiler = cProfile.Profile()

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    def stop(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        # Whole or not at all: the bench reads the file as soon as it exists.
        profiler.dump_stats(path + ".part")
        os.replace(path + ".part", path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def main() -> int:
    trace = os.environ.get("BENCH_SQL_TRACE")
    if trace:
        log = StatementLog(trace)
        trace_sqlite(log)
        trace_asyncpg(log)
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        profile_on_signals(profile)
    from app.cli import main as kassa_main

    return kassa_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
