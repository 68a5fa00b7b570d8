"""The event loop, background-loop runner and stop signals: how loops run, never what they do."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

try:
    import uvloop
except ImportError:  # not built for every platform (Windows): asyncio's own loop then
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")

log = logging.getLogger("kassa.loops")


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on a new event loop, as `asyncio.run` does: uvloop's where it is
    installed. Every `kassa` command runs this way. The server spends much of each request in
    the loop itself (tasks, callbacks, sockets); uvloop's, written in C, took PostgreSQL's
    create-session throughput from 0.29 to 0.41 of the bare endpoint (bench/api.py)."""
    loop_factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)


async def run_periodically(
    name: str, interval: float, step: Callable[[], Awaitable[object]]
) -> None:
    """Run `step` every `interval` seconds forever; a failing step is logged, never fatal."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop %s failed; retrying in %.1fs", name, interval)
        await asyncio.sleep(interval)


@dataclass
class BackgroundLoops:
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, name: str, interval: float, step: Callable[[], Awaitable[object]]) -> None:
        self.tasks.append(asyncio.create_task(run_periodically(name, interval, step), name=name))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: how `serve`, `worker` and `dev` learn to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
