"""Running the app under hypercorn (used by `kassa serve`, `kassa dev` and benchmarks)."""

from __future__ import annotations

import gc
import logging

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from app import create_app
from app.config import Settings
from app.loops import stop_on_signals


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
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


async def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM."""
    tune_garbage_collector()
    stop = stop_on_signals()
    await hypercorn_serve(
        create_app(settings), hypercorn_config(settings), shutdown_trigger=stop.wait
    )  # type: ignore[arg-type]
