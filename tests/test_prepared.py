"""Statements compiled once and run on the DBAPI cursor (``core.prepared``) convert their
parameters and rows as SQLAlchemy does."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, insert, select, text

from core.db import db, held_connections, unpinged_engine
from core.models import CallSession, CallStatus, Contact, SurveyOutcome
from core.prepared import Prepared, dbapi_cursor, run

SESSIONS = CallSession.__table__
WHEN = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
GIVEN = (
    "call_sid", "from_number", "to_number", "direction",
    "status", "outcome", "created_at", "answered_at",
)  # fmt: skip


def test_values_and_rows_convert_as_sqlalchemy_does(app: Flask) -> None:
    """Enums, UTC timestamps and constant column defaults, written and read back."""
    values = {c: bindparam(c, type_=SESSIONS.c[c].type) for c in GIVEN}
    write = Prepared.compile(insert(SESSIONS).values(values), db.engine.dialect)
    read = Prepared.compile(
        select(CallSession.status, CallSession.answered_at, CallSession.channel).where(
            CallSession.call_sid == bindparam("sid")
        ),
        db.engine.dialect,
    )
    sid = "CA" + "3" * 32
    row = {"call_sid": sid, "from_number": "+1", "to_number": "+2", "created_at": WHEN}
    row.update(answered_at=WHEN, direction="inbound")
    with dbapi_cursor(db.engine) as (conn, cursor):
        write.execute(
            cursor, {**row, "status": CallStatus.IN_PROGRESS, "outcome": SurveyOutcome.PARTIAL}
        )
        conn.commit()
        assert read.first(cursor, {"sid": sid}) == (CallStatus.IN_PROGRESS, WHEN, "voice")
        assert read.first(cursor, {"sid": "CA" + "4" * 32}) is None
    stored = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == sid))
    assert stored is not None and stored.outcome is SurveyOutcome.PARTIAL
    assert stored.answered_at == WHEN and stored.is_test is False


def test_a_parameter_not_given_is_an_error(app: Flask) -> None:
    """A missing value is refused, never written as NULL."""
    read = Prepared.compile(
        select(CallSession.id).where(CallSession.call_sid == bindparam("sid")), db.engine.dialect
    )
    with pytest.raises(KeyError):
        read.parameters({})


def test_a_default_made_at_execution_time_must_be_given(app: Flask) -> None:
    """A callable default (a timestamp) cannot be worked out once: compiling refuses it."""
    statement = insert(Contact.__table__).values(phone=bindparam("phone"))
    with pytest.raises(ValueError, match="created_at"):
        Prepared.compile(statement, db.engine.dialect)


def test_autocommit_is_put_back_before_the_pool_gets_the_connection(app: Flask) -> None:
    """A hot-path checkout in autocommit does not leave the pooled connection in it."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's hot path keeps its transactions")
    with dbapi_cursor(db.engine, autocommit=True) as (conn, _):
        assert conn.dbapi_connection.autocommit is True  # type: ignore[union-attr]
    with db.engine.connect() as again:
        assert again.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]


def backend_pid(conn: Any, cursor: Any) -> int:
    cursor.execute("SELECT pg_backend_pid()")
    return int(cursor.fetchone()[0])


def test_dead_pooled_connections_cost_a_retry_not_the_turn(app: Flask) -> None:
    """The hot path's pool has no ping: after the server dropped every pooled connection (a
    restart), the work runs once more on a new connection."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a server connection to lose")
    engine = unpinged_engine()
    assert engine is not db.engine
    with dbapi_cursor(engine) as (one, first), dbapi_cursor(engine) as (two, second):
        pooled = [backend_pid(one, first), backend_pid(two, second)]
    terminate(pooled)
    tries: list[int] = []

    def work(conn: Any, cursor: Any) -> int:
        tries.append(1)
        return backend_pid(conn, cursor)

    assert run(engine, work) not in pooled
    assert len(tries) == 2


def terminate(pids: list[int]) -> None:
    """The server ends these backends, as a restart would; back once they are gone."""
    for pid in pids:
        db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
    deadline = time.monotonic() + 10
    while db.session.scalar(alive, {"pids": pids}) and time.monotonic() < deadline:
        time.sleep(0.05)
    db.session.commit()


def test_a_thread_keeps_its_connection_and_a_dead_one_costs_a_retry(app: Flask) -> None:
    """On PostgreSQL each thread runs its turns on a connection of its own, kept between
    them; after the server dropped it, the next turn runs once more on a new one."""
    held = held_connections()
    if held is None:
        pytest.skip("a server connection to lose")
    mine = run(held, backend_pid)
    assert run(held, backend_pid) == mine
    terminate([mine])
    tries: list[int] = []

    def work(conn: Any, cursor: Any) -> int:
        tries.append(1)
        return backend_pid(conn, cursor)

    again = run(held, work)
    assert again != mine and len(tries) == 2
    assert run(held, backend_pid) == again


def test_a_forked_child_never_uses_nor_ends_its_parents_connection(app: Flask) -> None:
    """A process forked from a thread that held a connection (a work horse, a preloading
    server) opens its own, and the parent's session lives on."""
    held = held_connections()
    if held is None:
        pytest.skip("a server connection to share")
    mine = run(held, backend_pid)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child process)
        try:
            os.write(write, str(run(held, backend_pid)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = int(pipe.read() or 0)
    os.waitpid(child, 0)
    assert childs not in (0, mine)
    assert run(held, backend_pid) == mine


def test_a_failing_statement_is_not_run_again(app: Flask) -> None:
    """Only a dead connection is retried; an error from the database is raised at once."""
    tries: list[int] = []

    def work(conn: Any, cursor: Any) -> None:
        tries.append(1)
        cursor.execute("SELECT * FROM no_such_table")

    with pytest.raises(Exception, match="no_such_table"):
        run(unpinged_engine(), work)
    assert tries == [1]
    held = held_connections()
    if held is not None:  # and the thread's connection is still of use after it
        with pytest.raises(Exception, match="no_such_table"):
            run(held, work)
        assert tries == [1, 1]
        assert run(held, lambda conn, cursor: backend_pid(conn, cursor)) > 0
