"""A bare Quart app on Kassa's hypercorn set-up: the ceiling of the stack, for bench/api.py.

One JSON endpoint (`GET /` answers `{"ok": true}`) served exactly as `kassa serve` serves
Kassa (app/server.py): the same hypercorn Config, one process, the same event loop (uvloop), the
same garbage-collector tuning. Whatever Kassa's endpoints cost beyond this is Kassa's own.

    .venv/bin/python bench/bare.py --port 8001
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hypercorn.asyncio import serve as hypercorn_serve
from quart import Quart

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.config import Settings  # noqa: E402
from app.loops import run_event_loop, stop_on_signals  # noqa: E402
from app.server import hypercorn_config, tune_garbage_collector  # noqa: E402

bare = Quart("bare")


@bare.get("/")
async def ok() -> dict[str, bool]:
    return {"ok": True}


async def serve(host: str, port: int) -> None:
    # model_construct: the defaults for everything else, without reading kassa.toml or KASSA_*.
    settings = Settings.model_construct(host=host, port=port)
    tune_garbage_collector()
    stop = stop_on_signals()
    await hypercorn_serve(bare, hypercorn_config(settings), shutdown_trigger=stop.wait)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    run_event_loop(serve(args.host, args.port))


if __name__ == "__main__":
    main()
