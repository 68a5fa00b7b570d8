"""Running the app under hypercorn (used by `kassa serve`, `kassa dev` and benchmarks)."""

from __future__ import annotations

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


async def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM."""
    stop = stop_on_signals()
    await hypercorn_serve(
        create_app(settings), hypercorn_config(settings), shutdown_trigger=stop.wait
    )  # type: ignore[arg-type]
