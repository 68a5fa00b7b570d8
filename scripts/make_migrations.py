"""Regenerate aerich migrations for both dialects from `app.models`.

Usage: python scripts/make_migrations.py NAME
Each dialect gets its own folder because aerich writes dialect-specific SQL. Each aerich
step runs in a fresh process: aerich keeps global Tortoise state between commands.
PostgreSQL must answer at KASSA_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
from aerich import Command
from tortoise import Tortoise

from app.db import MODELS_APP, dialect_of, migration_files, migrations_location, tortoise_config
from app.resources import migrations_folder

# New migrations belong in the repository, next to this script, and Kassa reads them through
# app.resources: an editable install (`make setup`) makes those one folder.
REPO_MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
ADMIN_URL = os.environ.get("KASSA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def sqlite_widening_is_a_no_op() -> None:
    """aerich refuses every column change on SQLite. SQLite does not enforce VARCHAR
    lengths, so a widened column needs no SQL there: write a comment instead. Other changes
    (type, nullability, defaults) still fail loudly."""
    from aerich.ddl.sqlite import SqliteDDL

    def modify_column(self: SqliteDDL, model: Any, field_describe: dict[str, Any], **_: Any) -> str:
        return f"-- {model._meta.db_table}.{field_describe['db_column']}: width not enforced"

    SqliteDDL.modify_column = modify_column  # type: ignore[method-assign]


async def step(action: str, database_url: str, name: str) -> None:
    if dialect_of(database_url) == "sqlite":
        sqlite_widening_is_a_no_op()
    location = migrations_location(database_url)
    command = Command(tortoise_config(database_url), app=MODELS_APP, location=str(location))
    try:
        if action == "init-db":
            await command.init_db(safe=True)
            print(f"{location}: initial migration written")
        elif action == "upgrade":
            await command.init()
            await command.upgrade()
        else:
            await command.init()
            written = await command.migrate(name)
            print(f"{location}: {written or 'no changes'}")
    finally:
        await Tortoise.close_connections()


def regenerate(database_url: str, name: str) -> None:
    actions = ["upgrade", "migrate"] if migration_files(database_url) else ["init-db"]
    for action in actions:
        subprocess.run([sys.executable, __file__, "--step", action, database_url, name], check=True)


async def create_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main(name: str) -> None:
    if migrations_folder().resolve() != REPO_MIGRATIONS.resolve():
        sys.exit(
            f"Kassa reads its migrations from {migrations_folder()}, not from this checkout's "
            f"{REPO_MIGRATIONS}: install the checkout in editable mode (make setup) first"
        )
    with tempfile.TemporaryDirectory() as scratch:
        regenerate(f"sqlite://{Path(scratch) / 'scratch.db'}", name)
    scratch_db = f"kassa_migrations_{secrets.token_hex(4)}"
    asyncio.run(create_database(scratch_db))
    try:
        regenerate(f"{ADMIN_URL.rsplit('/', 1)[0]}/{scratch_db}", name)
    finally:
        asyncio.run(drop_database(scratch_db))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        asyncio.run(step(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "update")
