"""Every writer of an SQLite file queues on one gate (``core.write_gate``), so none meets
another inside SQLite, where the busy handler would sleep between tries. The connections
below have no busy timeout at all: meeting another writer inside SQLite fails at once."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from core import write_gate
from core.db import db
from core.db import init_app as init_db
from core.models import Contact
from core.write_gate import GatedConnection, is_held


def connect(path: Path) -> GatedConnection:
    conn = sqlite3.connect(path, timeout=0, factory=GatedConnection, check_same_thread=False)
    assert isinstance(conn, GatedConnection)
    return conn


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "gate.db"
    with connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x INTEGER)")
    yield path


def test_a_second_writer_waits_for_the_first_instead_of_failing(database: Path) -> None:
    first, second = connect(database), connect(database)
    first.execute("INSERT INTO t VALUES (1)")  # SQLite's write lock, held until the commit
    failed: list[Exception] = []
    done = threading.Event()

    def write() -> None:
        try:
            second.execute("INSERT INTO t VALUES (2)")
            second.commit()
        except Exception as exc:  # without the gate: "database is locked", at once
            failed.append(exc)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.3)  # queued at the gate, not inside SQLite
    first.commit()
    writer.join(10)
    assert failed == []
    assert sorted(first.execute("SELECT x FROM t").fetchall()) == [(1,), (2,)]


def test_threads_of_one_process_queue_for_the_gate_without_the_file_lock(database: Path) -> None:
    """Writers in one process wait their turn on its own lock: none starts a helper thread
    to queue in flock (a handover costs one wake-up, not a trip through the kernel's queue)."""
    holder = connect(database)
    holder.execute("INSERT INTO t VALUES (1)")
    helpers = {t for t in threading.enumerate() if t.name == "sqlite-write-gate"}
    writers = [
        threading.Thread(target=write_and_commit, args=(connect(database), n)) for n in (2, 3)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(0.3)
        assert writer.is_alive()  # queued behind the holder
    started = {t for t in threading.enumerate() if t.name == "sqlite-write-gate"} - helpers
    holder.commit()
    for writer in writers:
        writer.join(10)
    assert started == set()
    assert sorted(holder.execute("SELECT x FROM t").fetchall()) == [(1,), (2,), (3,)]


def write_and_commit(conn: GatedConnection, value: int) -> None:
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    conn.commit()


def test_a_thread_queued_behind_another_of_its_process_fails_after_the_busy_timeout(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer stuck mid-transaction in this process costs the others an error, not a hang."""
    monkeypatch.setattr(write_gate, "WAIT_SECONDS", 0.3)
    holder = connect(database)
    holder.execute("INSERT INTO t VALUES (1)")
    outcome: list[BaseException] = []
    writer = threading.Thread(target=lambda: write_once(connect(database), outcome))
    writer.start()
    writer.join(5)
    assert not writer.is_alive()
    assert len(outcome) == 1 and "database is locked" in str(outcome[0])
    holder.commit()
    assert holder.execute("SELECT x FROM t").fetchall() == [(1,)]


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_the_gate_is_held_from_the_first_write_to_the_end_of_the_transaction(
    database: Path, end: str
) -> None:
    conn = connect(database)
    conn.execute("SELECT count(*) FROM t").fetchall()
    assert not is_held(str(database))  # reads never queue
    conn.execute("INSERT INTO t VALUES (1)")
    conn.execute("SELECT x FROM t").fetchall()
    assert is_held(str(database))
    getattr(conn, end)()
    assert not is_held(str(database))


def test_a_thread_writing_on_two_connections_does_not_wait_for_itself(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_gate, "WAIT_SECONDS", 0.5)  # waiting for itself would fail
    first, second = connect(database), connect(database)
    first.execute("SAVEPOINT outer")  # holds the gate, not yet SQLite's write lock
    assert is_held(str(database))
    second.execute("INSERT INTO t VALUES (1)")
    second.commit()
    assert is_held(str(database))  # the first connection still holds it
    first.execute("RELEASE outer")
    assert not is_held(str(database))
    assert first.execute("SELECT x FROM t").fetchall() == [(1,)]


@contextmanager
def another_writer(database: Path) -> Iterator[None]:
    """The gate held elsewhere, as by another process stopped in the middle of a write."""
    stuck = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(stuck, fcntl.LOCK_EX)
        yield
    finally:
        os.close(stuck)


def test_a_writer_queued_longer_than_the_busy_timeout_fails_as_sqlite_would(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_gate, "WAIT_SECONDS", 0.3)
    conn = connect(database)
    outcome: list[BaseException] = []
    with another_writer(database):
        writer = threading.Thread(target=lambda: write_once(conn, outcome))
        writer.start()
        writer.join(5)
        assert not writer.is_alive()  # it gave up instead of hanging
    assert len(outcome) == 1 and "database is locked" in str(outcome[0])
    conn.execute("INSERT INTO t VALUES (2)")  # the queue is usable again
    conn.commit()
    assert conn.execute("SELECT x FROM t").fetchall() == [(2,)]


def write_once(conn: GatedConnection, outcome: list[BaseException]) -> None:
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as exc:
        outcome.append(exc)


class JobTimeout(Exception):
    pass


def test_a_job_timeout_while_queued_leaves_the_gate_usable(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_gate, "WAIT_SECONDS", 2.0)  # a gate left stuck fails in 2 s

    def time_out(signum: int, frame: object) -> None:
        raise JobTimeout  # as RQ's job timeout does, in the worker's main thread

    conn = connect(database)
    previous = signal.signal(signal.SIGALRM, time_out)
    try:
        with another_writer(database), pytest.raises(JobTimeout):
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            conn.execute("INSERT INTO t VALUES (1)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    conn.execute("INSERT INTO t VALUES (1)")  # the same thread's next write goes through
    conn.commit()
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_job_timeout_while_giving_the_gate_back_leaves_it_usable(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A timeout raised as the gate is given back: the process's other threads still write."""
    monkeypatch.setattr(write_gate, "WAIT_SECONDS", 1.0)
    unlock = write_gate._Gate._unlock

    def unlock_then_time_out(gate: write_gate._Gate) -> None:
        unlock(gate)
        monkeypatch.setattr(write_gate._Gate, "_unlock", unlock)
        raise JobTimeout  # as RQ's alarm would, between the file lock and the turn

    monkeypatch.setattr(write_gate._Gate, "_unlock", unlock_then_time_out)
    conn = connect(database)
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(JobTimeout):
        conn.commit()
    failed: list[BaseException] = []

    def write() -> None:
        try:
            write_and_commit(connect(database), 2)
        except sqlite3.OperationalError as exc:  # the turn left taken: "database is locked"
            failed.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(5)
    assert failed == []
    assert sorted(conn.execute("SELECT x FROM t").fetchall()) == [(1,), (2,)]


def test_the_apps_writes_on_sqlite_hold_the_gate_until_the_commit(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    init_db(app)
    with app.app_context():
        db.create_all()
        db.session.add(Contact(phone="+15005550123"))
        db.session.flush()
        assert is_held(str(path))
        db.session.commit()
        assert not is_held(str(path))
        db.engine.dispose()


@pytest.mark.parametrize(
    ("statements", "held_after"),
    [
        (["BEGIN", "SELECT x FROM t"], True),  # an explicit transaction may write at any time
        (["SAVEPOINT a", "INSERT INTO t VALUES (1)", "RELEASE a"], False),
        (["WITH v(x) AS (SELECT 1) SELECT x FROM v"], False),
        (["INSERT INTO t VALUES (1)", "UPDATE t SET x = 2"], True),
    ],
)
def test_the_gate_follows_the_transaction_whatever_the_statement(
    database: Path, statements: list[str], held_after: bool
) -> None:
    conn = connect(database)
    for sql in statements:
        conn.execute(sql).fetchall()
    assert is_held(str(database)) is held_after
    conn.rollback()
    assert not is_held(str(database))


def test_a_script_holds_the_gate_until_its_transaction_ends(database: Path) -> None:
    conn = connect(database)
    conn.executescript("BEGIN; INSERT INTO t VALUES (1);")
    assert is_held(str(database))
    conn.commit()
    assert not is_held(str(database))


def test_a_failed_write_holds_the_gate_until_the_rollback(database: Path) -> None:
    conn = connect(database)
    conn.execute("CREATE UNIQUE INDEX one_x ON t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO t VALUES (1)")
    assert is_held(str(database))  # the first insert is still uncommitted
    conn.rollback()
    assert not is_held(str(database))
