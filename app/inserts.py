"""New rows and a rate-limit token in one transaction and one trip to the database.

Session creation is the API's hot path. Through Tortoise it cost six to eight statements
(the token's upsert on its own, BEGIN, the INSERT, SQLite's `last_insert_rowid()`, COMMIT,
and on PostgreSQL a pool reset after each), each a trip through aiosqlite's thread or to
the server. Here the same rows take one trip:
- SQLite: one function on aiosqlite's thread runs BEGIN IMMEDIATE, the token's upsert, the
  INSERTs and COMMIT, holding Tortoise's connection lock; requests that arrive meanwhile
  share the next such transaction (group commit: one fsync for all of them, `_GroupCommit`);
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

import asyncio
import re
import sqlite3
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.models import Model

from app.models import RateLimit
from app.ratelimit import TAKE_SQL, Limit, Take, prepare_take

ModelType = TypeVar("ModelType", bound=Model)

_REFUSED_ROW = f"SELECT full_at FROM {RateLimit._meta.db_table} WHERE bucket = ?"


def new_row(model: type[ModelType], **values: Any) -> ModelType:
    """`model(**values)` for a row about to be inserted, built the way Tortoise builds a row
    it read (`_init_from_db`: each value converted by its field's type only where it needs
    one) rather than through `Model.__init__`'s per-attribute `__setattr__` and defaults,
    a third of the cost (session creation's hot path). Every field must be given, but a
    primary key the database generates (it stays None here: the INSERT leaves it out)."""
    if values.keys() != _field_names(model):
        raise TypeError(
            f"new_row({model.__name__}) takes exactly its fields: "
            f"missing {sorted(_field_names(model) - values.keys())}, "
            f"unknown {sorted(values.keys() - _field_names(model))}"
        )
    for name in _not_null_fields(model):
        if values[name] is None:  # as Model.__init__ refuses it
            raise ValueError(f"{name} is non nullable field, but null was passed")
    projection = model._meta.fields_db_projection
    if model._meta.pk.generated:
        values = {**values, model._meta.pk_attr: None}
    row = model._init_from_db(**{projection[name]: value for name, value in values.items()})
    row._saved_in_db = False
    return row


@cache
def _field_names(model: type[Model]) -> frozenset[str]:
    """The fields a new row is given: all its columns but a generated primary key."""
    names = set(model._meta.fields_db_projection)
    if model._meta.pk.generated:
        names.discard(model._meta.pk_attr)
    return frozenset(names)


@cache
def _not_null_fields(model: type[Model]) -> tuple[str, ...]:
    fields = model._meta.fields_map
    return tuple(name for name in sorted(_field_names(model)) if not fields[name].null)


def _db_values(row: Model, columns: Sequence[str]) -> list[Any]:
    fields = row._meta.fields_map
    return [fields[name].to_db_value(getattr(row, name), row) for name in columns]


@cache
def _insert_columns(model: type[Model], connection_name: str) -> tuple[list[str], str]:
    """Tortoise's INSERT for `model` (every column, as `Model.create` with its id given, or
    without a primary key the database generates) and the model fields it takes, in order."""
    executor = model._meta.db.executor_class(model=model, db=connections.get(connection_name))
    if model._meta.pk.generated:
        return list(executor.regular_columns), executor.insert_query
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

# A written row's outcome: (True, None), or (False, the refused bucket's `full_at`).
Outcome = tuple[bool, float | None]
# Writes that arrive while one transaction runs wait for the next, which takes at most this
# many (each in its own savepoint).
_GROUP_MAX = 64


def _write_one(
    db: sqlite3.Connection, token: Take | None, inserts: list[tuple[str, list[Any]]]
) -> Outcome:
    """On aiosqlite's thread, inside a transaction: one request's writes in a savepoint, so
    they are whole or nothing whatever the transaction's other writes do."""
    db.execute("SAVEPOINT kassa_write")
    try:
        if token and db.execute(TAKE_SQL.replace("$", "?"), token.values).fetchone() is None:
            row = db.execute(_REFUSED_ROW, [token.bucket]).fetchone()
            db.execute("ROLLBACK TO kassa_write")
            db.execute("RELEASE kassa_write")
            return False, (float(row[0]) if row is not None else None)
        for sql, values in inserts:
            db.execute(sql, values)
    except BaseException:
        db.execute("ROLLBACK TO kassa_write")
        db.execute("RELEASE kassa_write")
        raise
    db.execute("RELEASE kassa_write")
    return True, None


def _commit_group(
    db: sqlite3.Connection, writes: list[tuple[Take | None, list[tuple[str, list[Any]]]]]
) -> list[Outcome | sqlite3.Error]:
    """On aiosqlite's thread: several requests' writes in one transaction, so one COMMIT
    (one fsync of the WAL) makes them all durable. A write the database refuses (its
    savepoint rolled back) fails alone; a failed BEGIN or COMMIT fails them all."""
    # IMMEDIATE: the write lock first, so that a busy database waits here (busy timeout)
    # rather than failing halfway through.
    db.execute("BEGIN IMMEDIATE")
    outcomes: list[Outcome | sqlite3.Error] = []
    try:
        for token, inserts in writes:
            try:
                outcomes.append(_write_one(db, token, inserts))
            except sqlite3.Error as error:
                outcomes.append(error)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return outcomes


@dataclass(eq=False)
class _Waiting:
    token: Take | None
    inserts: list[tuple[str, list[Any]]]
    outcome: asyncio.Future[Outcome]


class _GroupCommit:
    """Group commit on Tortoise's one SQLite connection. Each COMMIT waits for an fsync,
    and every statement is a hop to aiosqlite's thread and back: alone, each create paid
    both. Writes that arrive while a transaction runs go into the next one together; no
    request waits for company (an idle database commits a group of one at once), and each
    is answered only after the COMMIT holding its rows returned, so durability is the same
    as one transaction per request."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.waiting: list[_Waiting] = []
        self.committer: asyncio.Task[None] | None = None

    async def write(self, token: Take | None, inserts: list[tuple[str, list[Any]]]) -> Outcome:
        waiting = _Waiting(token, inserts, self.loop.create_future())
        self.waiting.append(waiting)
        if self.committer is None or self.committer.done():
            self.committer = self.loop.create_task(self._commit_waiting())
        # A request cancelled before its group starts is left out of it (its future is
        # cancelled); once the group runs on the thread, it completes either way.
        return await waiting.outcome

    async def _commit_waiting(self) -> None:
        try:
            while self.waiting:
                group = [w for w in self.waiting[:_GROUP_MAX] if not w.outcome.done()]
                del self.waiting[:_GROUP_MAX]
                if group:
                    await self._commit(group)
        finally:
            for waiting in self.waiting:  # only when cancelled (shutdown)
                waiting.outcome.cancel()
            self.waiting.clear()

    async def _commit(self, group: list[_Waiting]) -> None:
        writes = [(w.token, w.inserts) for w in group]
        try:
            # Tortoise's lock on its one connection: no other statement runs inside ours.
            async with self.client.acquire_connection() as connection:
                # aiosqlite runs every call as a function on its thread; this is one of
                # them (`_execute` is how its own methods do it: one hop for the group).
                outcomes = await connection._execute(_commit_group, connection._conn, writes)
        except asyncio.CancelledError:
            for waiting in group:
                waiting.outcome.cancel()
            raise
        except Exception as error:
            outcomes = [error] * len(group)
        for waiting, outcome in zip(group, outcomes, strict=True):
            if waiting.outcome.done():
                continue
            if isinstance(outcome, BaseException):
                waiting.outcome.set_exception(outcome)
            else:
                waiting.outcome.set_result(outcome)


_group_commits: weakref.WeakKeyDictionary[Any, _GroupCommit] = weakref.WeakKeyDictionary()


def _group_commit(client: Any) -> _GroupCommit:
    group_commit = _group_commits.get(client)
    if group_commit is None or group_commit.loop is not asyncio.get_running_loop():
        group_commit = _group_commits[client] = _GroupCommit(client)
    return group_commit


async def _sqlite(client: Any, name: str, rows: Sequence[Model], token: Take | None) -> float:
    inserts = []
    for row in rows:
        columns, sql = _insert_columns(type(row), name)
        inserts.append((sql, _db_values(row, columns)))
    try:
        if isinstance(client, TransactionalDBClient):
            # Inside a caller's transaction (run_idempotent's): a savepoint in it, committed
            # with the caller's writes.
            async with client.acquire_connection() as connection:
                written, full_at = await connection._execute(
                    _write_one, connection._conn, token, inserts
                )
        else:
            written, full_at = await _group_commit(client).write(token, inserts)
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
    upsert returned a row. The answer: whether it did. Without a token: the INSERTs.

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
    return f"WITH {', '.join(parts)} SELECT EXISTS (SELECT 1 FROM token) AS taken"


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
    # Refused: only now is the row read, by a statement of its own. The one above cannot
    # tell: its snapshot predates the concurrent upserts it waited for.
    found = await client.execute_query_dict(_REFUSED_ROW.replace("?", "$1"), [token.bucket])
    return token.wait(float(found[0]["full_at"]) if found else None)
