"""Background-loop runner and stop signals: how loops run, never what they do."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("kassa.loops")


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
