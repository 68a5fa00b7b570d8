"""The least a session create can cost on Kassa's stack, for bench/api.py: no Kassa in it.

`POST /` reads the JSON body, writes one row (the body, as JSON) in one statement through
the same driver Kassa uses (asyncpg's pool on PostgreSQL, aiosqlite's thread on SQLite, a
transaction each), and answers an 800-byte JSON object, as large as a checkout session's,
served like bench/bare.py (Kassa's hypercorn Config, event loop and garbage-collector tuning).
No authentication, validation, rate limit, request id or other hook: what Kassa does on top
of this floor is Kassa's own cost.

    .venv/bin/python bench/floor.py --port 8002 --database-url postgres://...|sqlite://PATH
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import orjson
from hypercorn.asyncio import serve as hypercorn_serve
from quart import Quart, Response, request

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.config import Settings  # noqa: E402
from app.loops import run_event_loop, stop_on_signals  # noqa: E402
from app.server import hypercorn_config, tune_garbage_collector  # noqa: E402

TABLE = "bench_floor_rows"
# As large as a checkout session's answer (about 800 bytes, indented like Kassa's).
ANSWER = {f"field_{position:02}": "x" * 20 for position in range(24)}

floor = Quart("floor")


class Postgres:
    def __init__(self, url: str) -> None:
        self.url = url

    async def open(self) -> None:
        import asyncpg

        async def keep_session(connection: Any) -> None:  # as Kassa's pool (app/db.py)
            pass

        # Tortoise's asyncpg pool size, which Kassa keeps.
        self.pool = await asyncpg.create_pool(self.url, min_size=1, max_size=5, reset=keep_session)
        await self.pool.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, body JSONB)"
        )

    async def insert(self, row_id: str, body: str) -> None:
        async with self.pool.acquire() as connection:
            await connection.fetchrow(
                f"INSERT INTO {TABLE} (id, body) VALUES ($1, $2::jsonb) RETURNING TRUE",
                row_id,
                body,
            )


class Sqlite:
    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite://")

    async def open(self) -> None:
        import aiosqlite

        self.connection = await aiosqlite.connect(self.path, isolation_level=None)
        await self.connection.execute("PRAGMA journal_mode=WAL")
        await self.connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, body TEXT)"
        )

    async def insert(self, row_id: str, body: str) -> None:
        # One statement is one transaction in autocommit mode: one hop to the thread.
        await self.connection.execute(
            f"INSERT INTO {TABLE} (id, body) VALUES (?, ?)", (row_id, body)
        )


database: Postgres | Sqlite


@floor.post("/")
async def create() -> Response:
    params = json.loads(await request.get_data())
    await database.insert(secrets.token_hex(12), json.dumps(params))
    body = orjson.dumps({"id": secrets.token_hex(12), **ANSWER}, option=orjson.OPT_INDENT_2)
    return Response(body, content_type="application/json")


async def serve(host: str, port: int) -> None:
    await database.open()
    settings = Settings.model_construct(host=host, port=port)
    tune_garbage_collector()
    stop = stop_on_signals()
    await hypercorn_serve(floor, hypercorn_config(settings), shutdown_trigger=stop.wait)  # type: ignore[arg-type]


def main() -> None:
    global database
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    database = (
        Postgres(args.database_url)
        if args.database_url.startswith("postgres")
        else Sqlite(args.database_url)
    )
    run_event_loop(serve(args.host, args.port))


if __name__ == "__main__":
    main()
