"""Running the app under hypercorn (used by `kassa serve`, `kassa dev` and benchmarks), in one
process or, with `kassa serve --workers N`, in N supervised processes sharing one socket.

Several processes: the supervisor binds the listening socket once and starts N children
(`kassa serve --listen-fd FD`) that all accept from it, so a child that dies drops no queued
connection and its replacement serves the same port. Only the first child runs the
background loops (when `run_background_loops` is on): the others get
`KASSA_RUN_BACKGROUND_LOOPS=false`. A child that dies is logged and restarted after a pause;
one that keeps dying within seconds of starting (a configuration error, a database that
refuses it) stops the whole server. SIGTERM or SIGINT stops every child (SIGKILL for those
still running after a grace period). PostgreSQL only: one SQLite file is served by one
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import time

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from app import create_app
from app.config import Settings
from app.db import dialect_of
from app.loops import stop_on_signals

log = logging.getLogger("kassa.server")

# A child that lived shorter than this failed to start; this many such failures in a row
# stop the server (restarting cannot fix what is wrong), each retried after a longer pause.
QUICK_DEATH_SECONDS = 10.0
QUICK_DEATHS_TO_GIVE_UP = 5
RESTART_PAUSE_SECONDS = 1.0
RESTART_PAUSE_MAX_SECONDS = 30.0
# How long children get to finish their requests after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 30.0
LISTEN_BACKLOG = 1024


def hypercorn_config(settings: Settings, listen_fd: int | None = None) -> Config:
    config = Config()
    # A supervisor's socket (`--workers`), or our own address.
    config.bind = (
        [f"fd://{listen_fd}"] if listen_fd is not None else [f"{settings.host}:{settings.port}"]
    )
    config.accesslog = None  # request lines could carry secrets in query strings; we log ourselves
    # Through our logging setup (and its secret redaction) instead of hypercorn's own handler.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 15
    return config


# Young objects collected every this many allocations (CPython's default: 700). A request's
# objects live a few milliseconds; at 700 many survive two young collections, get promoted
# and so trigger full collections, whose pause grows with everything alive (each open status
# stream holds ~170 objects): with 1,000 streams open, pauses of 100+ ms every few seconds
# made the API's p99 25× its idle figure. At 10,000 they die young (bench/sse.py).
GC_YOUNG_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """Fewer, shorter full collections for a long-running server."""
    gc.collect()
    # Modules, classes and templates loaded so far live as long as the process: keep them
    # out of every later full collection.
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def serve(settings: Settings, listen_fd: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM (on the supervisor's socket `listen_fd` when given)."""
    tune_garbage_collector()
    stop = stop_on_signals()
    await hypercorn_serve(
        create_app(settings), hypercorn_config(settings, listen_fd), shutdown_trigger=stop.wait
    )  # type: ignore[arg-type]


class ServeError(Exception):
    """The supervisor cannot serve; the message says why."""


def listening_socket(host: str, port: int) -> socket.socket:
    """The one socket every child accepts from (inherited by file descriptor)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.listen(LISTEN_BACKLOG)
    sock.set_inheritable(True)
    return sock


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
        return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


async def serve_processes(settings: Settings, workers: int) -> None:
    """`kassa serve --workers N`: N children on one socket until SIGINT/SIGTERM."""
    if dialect_of(settings.database_url) != "postgres":
        raise ServeError(
            "--workers needs PostgreSQL: a SQLite database is served by one process "
            "(its writes serialize and its wake-ups stay in-process); run without --workers"
        )
    sock = listening_socket(settings.host, settings.port)
    stop = stop_on_signals()
    running: dict[int, asyncio.subprocess.Process] = {}
    gave_up: list[str] = []

    async def child(index: int) -> None:
        quick_deaths = 0
        while not stop.is_set():
            env = dict(os.environ)
            if index > 0:
                env["KASSA_RUN_BACKGROUND_LOOPS"] = "false"  # the first child runs the loops
            command = [sys.executable, "-m", "app.cli", "serve", "--listen-fd", str(sock.fileno())]
            command += ["--host", settings.host, "--port", str(settings.port)]
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                *command, env=env, pass_fds=(sock.fileno(),)
            )
            running[index] = process
            log.info("kassa serve worker %d started (pid %d)", index, process.pid)
            returncode = await process.wait()
            running.pop(index, None)
            if stop.is_set():
                return
            lived = time.monotonic() - started
            quick_deaths = quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
            reason = _exit_reason(returncode)
            if quick_deaths >= QUICK_DEATHS_TO_GIVE_UP:
                gave_up.append(f"worker {index} {reason} {quick_deaths} times within seconds")
                stop.set()
                return
            pause = min(
                RESTART_PAUSE_SECONDS * 2 ** max(0, quick_deaths - 1), RESTART_PAUSE_MAX_SECONDS
            )
            log.error(
                "kassa serve worker %d (pid %d) %s; restarting it in %.0fs",
                index,
                process.pid,
                reason,
                pause,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    log.info("serving on %s:%d with %d processes", settings.host, settings.port, workers)
    supervisors = [asyncio.create_task(child(index)) for index in range(workers)]
    try:
        await stop.wait()
    finally:
        for process in list(running.values()):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await asyncio.gather(*supervisors, return_exceptions=True)
        except TimeoutError:
            for process in list(running.values()):
                log.error("kassa serve worker pid %d did not stop; killing it", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await asyncio.gather(*supervisors, return_exceptions=True)
        sock.close()
    if gave_up:
        raise ServeError(f"stopped: {gave_up[0]}; see the log above")
