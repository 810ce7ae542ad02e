"""Core statements compiled once per dialect and run on the DBAPI connection itself.

``Connection.execute`` costs about 0.1 ms of CPU per statement even when the compiled form
is cached (execution context, events, result object): more than SQLite takes to run the
webhook's INSERT. The webhook hot path (``ivr.hot_path``) runs its few fixed statements
through ``Prepared``: the SQL, the order of its parameters and each column type's bind and
result conversions are SQLAlchemy's own, worked out once per statement and dialect.
Engine events (``before_cursor_execute``, ``commit``) do not fire for these statements.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ClauseElement, Dialect, Engine, PoolProxiedConnection
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.sql.compiler import SQLCompiler

log = logging.getLogger(__name__)
T = TypeVar("T")
Convert = Callable[[Any], Any]
REQUIRED = object()  # a parameter with no default: the caller must give it


@dataclass(frozen=True)
class Prepared:
    """One statement as its dialect runs it: SQL text, parameters and their conversions."""

    sql: str
    # Each parameter in the SQL's order: its name there, the key the caller gives, its
    # default (a column's constant default, when not given) and the type's conversion.
    binds: tuple[tuple[str, str, Any, Convert | None], ...]
    positional: bool
    results: tuple[Convert | None, ...]

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> Prepared:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement with parameters rendered at execution time")
        defaults: dict[str, Any] = {}
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if column in compiled.insert_prefetch else column.onupdate
            if default is None or not default.is_scalar:
                raise ValueError(f"{column.key}: a default made at execution time; give it")
            defaults[column.key] = default.arg  # type: ignore[attr-defined]
        binds = {
            name: (
                compiled.escaped_bind_names.get(name, name),
                bind.key,
                defaults.get(bind.key, REQUIRED),
                bind.type.dialect_impl(dialect).bind_processor(dialect),
            )
            for bind, name in compiled.bind_names.items()
        }
        order = compiled.positiontup if compiled.positional else sorted(binds)
        returned = getattr(statement, "exported_columns", ())
        return cls(
            sql=compiled.string,
            binds=tuple(binds[name] for name in order or ()),
            positional=compiled.positional,
            results=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in returned
            ),
        )

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The DBAPI's parameters for ``values`` (KeyError: a parameter not given)."""
        converted = []
        for _, key, default, convert in self.binds:
            given = values[key] if key in values or default is REQUIRED else default
            converted.append(convert(given) if convert else given)
        if self.positional:
            return tuple(converted)
        return {name: value for (name, *_), value in zip(self.binds, converted, strict=True)}

    def execute(self, cursor: DBAPICursor, values: Mapping[str, Any]) -> None:
        cursor.execute(self.sql, self.parameters(values))

    def first(self, cursor: DBAPICursor, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The statement's first row (a SELECT's, or what an INSERT returned), converted."""
        self.execute(cursor, values)
        row = cursor.fetchone()
        if row is None:
            return None
        return tuple(
            convert(value) if convert else value
            for convert, value in zip(self.results, row, strict=True)
        )


@contextmanager
def dbapi_cursor(
    engine: Engine, *, autocommit: bool = False
) -> Iterator[tuple[PoolProxiedConnection, DBAPICursor]]:
    """A pooled connection and a cursor on it; given back to the pool (rolled back) after,
    or dropped from it when it was found dead.

    ``autocommit``: each statement commits itself (no BEGIN or COMMIT round trips), for
    the connection's time out of the pool only.
    """
    connection = engine.raw_connection()
    driver = connection.dbapi_connection
    assert driver is not None  # a connection just checked out is open
    try:
        try:
            if autocommit:
                engine.dialect.set_isolation_level(driver, "AUTOCOMMIT")
            cursor = connection.cursor()
            try:
                yield connection, cursor
            finally:
                cursor.close()
                if autocommit:
                    engine.dialect.reset_isolation_level(driver)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, driver, None):
                connection.invalidate(exc)
            raise
    finally:
        connection.close()


_parents: list[object] = []
# Forks so far (not os.getpid(): a system call at every turn).
_forks = [0]
os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


class HeldConnections:
    """A connection and a cursor per thread, kept from one call of ``run`` to the next.

    A pool's checkout and return (its reset included) and a new cursor cost a PostgreSQL
    turn more client CPU than its statement (``bench/webhook_cpu.py``); a web thread runs
    one turn at a time, so a connection of its own is never shared, and the statements it
    runs stay prepared on the server. For an engine whose connections are in autocommit:
    nothing is left open between turns. Each connection is made by the engine's pool (its
    connect setup applied) and detached from it; one found dead is closed and replaced, and
    a thread's is closed with this object or the thread.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._forks = _forks[0]

    def held(self) -> tuple[PoolProxiedConnection, DBAPICursor]:
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == _forks[0]:
            return held[1], held[2]
        if held is not None:
            # A forked child of a thread that held one: the socket is the parent's, and
            # freeing the connection here would end the parent's session. Kept, unused.
            _parents.append(held)
        if self._forks != _forks[0]:  # nor a connection the parent left in the pool
            self.engine.dispose(close=False)
            self._forks = _forks[0]
        connection = self.engine.raw_connection()
        connection.detach()
        cursor = connection.cursor()
        self._local.held = (_forks[0], connection, cursor)
        return connection, cursor

    def drop(self, exc: BaseException) -> None:
        """This thread's connection, found dead: closed, and a new one next time."""
        _, connection, _ = self._local.__dict__.pop("held")
        connection.invalidate(exc)


def run(
    engine: Engine | HeldConnections,
    work: Callable[[PoolProxiedConnection, DBAPICursor], T],
    *,
    autocommit: bool = False,
) -> T:
    """``work`` on a pooled (or this thread's held) connection's cursor, and once more on a
    new connection when the first was found dead (a pool is then renewed): what the pool's
    ping before each checkout gives, without its round trip (``core.db.unpinged_engine``).
    ``work`` must be safe to run twice."""
    if isinstance(engine, HeldConnections):
        return _run_held(engine, work)
    for attempt in (1, 2):
        driver, pool = None, engine.pool
        try:
            with dbapi_cursor(engine, autocommit=autocommit) as (connection, cursor):
                driver = connection.dbapi_connection
                return work(connection, cursor)
        except engine.dialect.loaded_dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(exc, driver, None):
                raise
            # After a database restart every pooled connection is dead: a new pool, as
            # SQLAlchemy's own handling of a disconnect does (connections out are let go
            # when given back).
            log.warning("a pooled database connection was dead; running the turn again")
            # Only if no other thread has renewed it already: its new pool's connections
            # would be orphaned, open until collected.
            if engine.pool is pool:
                engine.dispose()
    raise AssertionError("unreachable")


def _run_held(held: HeldConnections, work: Callable[[PoolProxiedConnection, DBAPICursor], T]) -> T:
    dialect = held.engine.dialect
    for attempt in (1, 2):
        connection, cursor = held.held()
        try:
            return work(connection, cursor)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, connection.dbapi_connection, None):
                connection.rollback()  # in autocommit nothing is open: no round trip
                raise
            held.drop(exc)
            if attempt == 2:
                raise
            # After a database restart each thread finds its own connection dead once.
            log.warning("a held database connection was dead; running the turn again")
    raise AssertionError("unreachable")
