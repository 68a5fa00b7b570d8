"""Database wiring: Tortoise configuration, lifecycle and migrations (aerich)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import BaseORMException

from app.resources import migrations_folder

MODEL_MODULES = ["app.models", "aerich.models"]
# The Tortoise app name, which is also the name of aerich's folder in a migration location.
MODELS_APP = "models"
CONNECT_TIMEOUT_SECONDS = 10.0


class MigrationsMissing(RuntimeError):
    """No migrations where the installation should have them; the message says where."""


class DatabaseUnreachable(RuntimeError):
    """The database cannot be opened or does not answer; the message says which and why."""


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The one Tortoise configuration, for the app, the CLI and aerich.

    The connection is named after its dialect: Tortoise caches compiled INSERTs per
    connection name, so a process that switches databases (the test suite) must not reuse
    one name for SQLite and PostgreSQL.
    """
    connection = dialect_of(database_url)
    return {
        "connections": {connection: database_url},
        "apps": {MODELS_APP: {"models": MODEL_MODULES, "default_connection": connection}},
        "use_tz": True,
        "timezone": "UTC",
    }


def dialect_of(database_url: str) -> str:
    """`sqlite` or `postgres`; anything else is refused early with a clear message."""
    scheme = database_url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in {"postgres", "postgresql", "asyncpg", "psycopg"}:
        return "postgres"
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:// or postgres://")


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database; None for PostgreSQL and an in-memory SQLite database."""
    if dialect_of(database_url) != "sqlite":
        return None
    path = str(expand_db_url(database_url)["credentials"]["file_path"])
    return None if path == ":memory:" else Path(path)


def migrations_location(database_url: str) -> Path:
    """aerich writes dialect-specific SQL, so each dialect has its own migration folder."""
    return migrations_folder() / dialect_of(database_url)


def migration_files(database_url: str) -> list[str]:
    """The migrations shipped for the database's dialect, oldest first (aerich's file names)."""
    folder = migrations_location(database_url) / MODELS_APP
    if not folder.is_dir():
        return []
    versions = [f.name for f in folder.glob("*_*.py") if f.name.split("_", 1)[0].isdigit()]
    return sorted(versions, key=lambda name: int(name.split("_", 1)[0]))


def _database_name(database_url: str) -> str:
    """Where the database is, for messages: the SQLite file, or PostgreSQL's host, port and
    database (never the password)."""
    credentials = expand_db_url(database_url)["credentials"]
    if dialect_of(database_url) == "sqlite":
        return f"SQLite database {credentials['file_path']}"
    return (
        f"PostgreSQL database {credentials.get('database')!r} at "
        f"{credentials.get('host')}:{credentials.get('port')}"
    )


def _unreachable(database_url: str, error: Exception) -> DatabaseUnreachable:
    reason = str(error) or type(error).__name__
    return DatabaseUnreachable(f"cannot open the {_database_name(database_url)}: {reason}")


async def open_checked(database_url: str) -> None:
    """Set up Tortoise on the database and ask it one query; `DatabaseUnreachable` says why
    that failed (and leaves nothing open)."""
    if dialect_of(database_url) == "sqlite":
        # The file through the standard library first: after a failed aiosqlite connect, its
        # worker thread is gone and the next query waits forever.
        path = expand_db_url(database_url)["credentials"]["file_path"]
        try:
            await asyncio.to_thread(lambda: sqlite3.connect(path).close())
        except sqlite3.Error as error:
            raise _unreachable(database_url, error) from None
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            await connections.get(dialect_of(database_url)).execute_query("SELECT 1")
    except (OSError, TimeoutError, BaseORMException) as error:
        await Tortoise.close_connections()
        raise _unreachable(database_url, error) from None


async def _keep_session(connection: Any) -> None:
    """asyncpg's pool `reset`, instead of its default statement after every release
    (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`: one more round trip per
    statement outside a transaction). Nothing on a pooled connection leaves session state
    behind: LISTEN (app.notify) and advisory locks (app.watcher) live on connections of
    their own, and nothing runs SET or keeps cursors. asyncpg still rolls back a
    transaction left open before calling this."""


def _serving_config(database_url: str) -> dict[str, Any]:
    config = tortoise_config(database_url)
    if dialect_of(database_url) == "postgres":
        connection = expand_db_url(database_url)
        connection["credentials"]["reset"] = _keep_session  # passed on to asyncpg's pool
        config["connections"] = {"postgres": connection}
    return config


async def open_database(database_url: str) -> None:
    # Tortoise 1.x with Quart: a global fallback context, see docs/toolchain gotcha 1.
    await Tortoise.init(config=_serving_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> list[str]:
    """Apply every shipped migration not yet applied; returns the applied file names.

    aerich reports "nothing to apply" both for an empty migration folder and for a database
    it cannot query, so both are checked first: `MigrationsMissing`, `DatabaseUnreachable`.
    """
    location = migrations_location(database_url)
    if not migration_files(database_url):
        raise MigrationsMissing(
            f"no migrations in {location / MODELS_APP}: this Kassa installation is incomplete, "
            "reinstall it"
        )
    await open_checked(database_url)
    try:
        command = Command(
            tortoise_config=tortoise_config(database_url), app=MODELS_APP, location=str(location)
        )
        await command.init()  # on the Tortoise set up above
        return await command.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()
