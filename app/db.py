"""Database wiring: Tortoise configuration, lifecycle and migrations (aerich)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aerich import Command
from tortoise import Tortoise

MODEL_MODULES = ["app.models", "aerich.models"]
MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The one Tortoise configuration, for the app, the CLI and aerich.

    The connection is named after its dialect: Tortoise caches compiled INSERTs per
    connection name, so a process that switches databases (the test suite) must not reuse
    one name for SQLite and PostgreSQL.
    """
    connection = dialect_of(database_url)
    return {
        "connections": {connection: database_url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": connection}},
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


def migrations_location(database_url: str) -> Path:
    """aerich writes dialect-specific SQL, so each dialect has its own migration folder."""
    return MIGRATIONS_ROOT / dialect_of(database_url)


async def open_database(database_url: str) -> None:
    # Tortoise 1.x with Quart: a global fallback context, see docs/toolchain gotcha 1.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> list[str]:
    """Apply every committed migration not yet applied; returns the applied file names."""
    command = Command(
        tortoise_config=tortoise_config(database_url),
        app="models",
        location=str(migrations_location(database_url)),
    )
    await command.init()
    try:
        return await command.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()
