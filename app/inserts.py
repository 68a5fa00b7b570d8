"""New rows and a rate-limit token in one transaction and one trip to the database.

Session creation is the API's hot path. Through Tortoise it cost six to eight statements
(the token's upsert on its own, BEGIN, the INSERT, SQLite's `last_insert_rowid()`, COMMIT,
and on PostgreSQL a pool reset after each), each a trip through aiosqlite's thread or to
the server. Here the same rows take one trip:
- SQLite: one function on aiosqlite's thread runs BEGIN IMMEDIATE, the token's upsert, the
  INSERTs and COMMIT (one commit, so one fsync), holding Tortoise's connection lock;
- PostgreSQL: one statement, the upsert and the INSERTs as data-modifying CTEs that insert
  only when the upsert spent a token (one statement is one transaction).
The model stays the schema's one definition: the INSERTs are Tortoise's own (its columns and
its `to_db_value` conversions), with prepared statements (asyncpg caches them per
connection, sqlite3 per statement text).

`insert_with_token` answers 0.0 when the rows were written, else the seconds until the
bucket has a token again (nothing written), like `app.ratelimit.take`; `insert_rows` writes
rows whose request spent its token before.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from functools import cache
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.models import Model

from app.models import RateLimit
from app.ratelimit import TAKE_SQL, Limit, Take, prepare_take

_REFUSED_ROW = "SELECT full_at FROM rate_limits WHERE bucket = ?"


def _db_values(row: Model, columns: Sequence[str]) -> list[Any]:
    fields = row._meta.fields_map
    return [fields[name].to_db_value(getattr(row, name), row) for name in columns]


@cache
def _insert_columns(model: type[Model], connection_name: str) -> tuple[list[str], str]:
    """Tortoise's INSERT for `model` (every column, as `Model.create` with its id given) and
    the model fields it takes, in order."""
    executor = model._meta.db.executor_class(model=model, db=connections.get(connection_name))
    return list(executor.regular_columns_all), executor.insert_query_all


async def insert_with_token(rows: Sequence[Model], bucket: str, limit: Limit) -> float:
    """Spend a token of `bucket` and insert `rows` (in order), or neither."""
    return await _insert(rows, prepare_take(bucket, limit))


async def insert_rows(rows: Sequence[Model]) -> None:
    """Insert `rows` (in order) in one transaction."""
    await _insert(rows, None)


async def _insert(rows: Sequence[Model], token: Take | None) -> float:
    assert rows, "nothing to insert"
    name = rows[0]._meta.default_connection
    assert name is not None
    client = connections.get(name)
    if client.capabilities.dialect == "sqlite":
        wait = await _sqlite(client, name, rows, token)
    else:
        wait = await _postgres(client, name, rows, token)
    if not wait:
        for row in rows:
            row._saved_in_db = True  # a later save() updates them, as after Model.create
    return wait


# ---------------------------------------------------------------------------- SQLite


def _sqlite_write(
    db: sqlite3.Connection, token: Take | None, inserts: list[tuple[str, list[Any]]]
) -> tuple[bool, float | None]:
    """On aiosqlite's thread: (True, None) when written, else (False, the refused bucket's
    `full_at`). Whole or nothing, even if the awaiting request is cancelled meanwhile."""
    # IMMEDIATE: the write lock first, so that a busy database waits here (busy timeout)
    # rather than failing halfway through.
    # Inside a caller's transaction (run_idempotent's), a savepoint: whole or nothing
    # still, and committed with the caller's.
    nested = db.in_transaction
    db.execute("SAVEPOINT kassa_insert" if nested else "BEGIN IMMEDIATE")
    try:
        if token and db.execute(TAKE_SQL.replace("$", "?"), token.values).fetchone() is None:
            row = db.execute(_REFUSED_ROW, [token.bucket]).fetchone()
            _undo(db, nested)
            return False, (float(row[0]) if row is not None else None)
        for sql, values in inserts:
            db.execute(sql, values)
        db.execute("RELEASE kassa_insert" if nested else "COMMIT")
    except BaseException:
        if db.in_transaction:
            _undo(db, nested)
        raise
    return True, None


def _undo(db: sqlite3.Connection, nested: bool) -> None:
    if nested:
        db.execute("ROLLBACK TO kassa_insert")
        db.execute("RELEASE kassa_insert")
    else:
        db.execute("ROLLBACK")


async def _sqlite(client: Any, name: str, rows: Sequence[Model], token: Take | None) -> float:
    inserts = []
    for row in rows:
        columns, sql = _insert_columns(type(row), name)
        inserts.append((sql, _db_values(row, columns)))
    try:
        # Tortoise's lock on its one connection: no statement of another request runs
        # between ours (they queue behind this function on the same thread anyway).
        async with client.acquire_connection() as connection:
            # aiosqlite runs every call as a function on its thread; this is one of them
            # (`_execute` is how its own methods do it: one hop instead of five).
            written, full_at = await connection._execute(
                _sqlite_write, connection._conn, token, inserts
            )
    except sqlite3.IntegrityError as error:
        raise IntegrityError(error) from error
    except sqlite3.Error as error:
        raise OperationalError(error) from error
    if written:
        return 0.0
    assert token is not None
    return token.wait(full_at)


# ------------------------------------------------------------------------ PostgreSQL

_SQL_TYPE_LENGTH = re.compile(r"\(.*\)$")


@cache
def _postgres_statement(
    models: tuple[type[Model], ...], connection_name: str, with_token: bool
) -> str:
    """The token's upsert and one INSERT per row as CTEs; the INSERTs run only when the
    upsert returned a row. The answer: whether it did, and the bucket's `full_at` as the
    statement found it (for Retry-After when refused). Without a token: the INSERTs.

    INSERT ... SELECT needs typed parameters: each is cast to its column's type without the
    length (a cast to VARCHAR(n) would cut a longer value silently; without it, the column
    refuses it as an INSERT does).
    """
    parts = [f"token AS ({TAKE_SQL.strip()})"] if with_token else []
    parameter = 5 if with_token else 0  # $1..$5 are the token's
    condition = " WHERE EXISTS (SELECT 1 FROM token)" if with_token else ""
    for position, model in enumerate(models):
        columns, _ = _insert_columns(model, connection_name)
        fields = model._meta.fields_map
        projection = model._meta.fields_db_projection
        names = ", ".join(f'"{projection[column]}"' for column in columns)
        casts = []
        for column in columns:
            parameter += 1
            sql_type = fields[column].get_for_dialect("postgres", "SQL_TYPE")
            casts.append(f"${parameter}::{_SQL_TYPE_LENGTH.sub('', sql_type)}")
        parts.append(
            f'row{position} AS (INSERT INTO "{model._meta.db_table}" ({names}) '
            f"SELECT {', '.join(casts)}{condition})"
        )
    if not with_token:
        return f"WITH {', '.join(parts)} SELECT TRUE AS taken"
    return (
        f"WITH {', '.join(parts)} "
        "SELECT EXISTS (SELECT 1 FROM token) AS taken, "
        f"(SELECT full_at FROM {RateLimit._meta.db_table} WHERE bucket = $1) AS full_at"
    )


async def _postgres(client: Any, name: str, rows: Sequence[Model], token: Take | None) -> float:
    import asyncpg  # only with PostgreSQL

    sql = _postgres_statement(tuple(type(row) for row in rows), name, token is not None)
    values: list[Any] = list(token.values) if token else []
    for row in rows:
        columns, _ = _insert_columns(type(row), name)
        values.extend(_db_values(row, columns))
    try:
        async with client.acquire_connection() as connection:
            answer = await connection.fetchrow(sql, *values)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(error) from error
    except asyncpg.PostgresError as error:
        raise OperationalError(error) from error
    if answer["taken"]:
        return 0.0
    assert token is not None
    return token.wait(answer["full_at"])
