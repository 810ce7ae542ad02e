"""One queue for every writer of an SQLite file: a file lock (``<db>-writer``) taken by the
connection itself before its first write and given back when its transaction ends.

SQLite lets one connection write at a time; a writer that finds the lock taken is put to
sleep by its busy handler for 1, 2, 5, 10 ... 100 ms between tries, whether or not the lock
came free meanwhile. While the webhook hot path alone queued on this file lock, any other
writer (the full survey flow, status callbacks, workers) met the hot path inside SQLite:
it starved there, then the writer it held up slept up to ~180 ms still holding the queue,
and every webhook waited behind it (the SQLite answer's p99 of 100-300 ms in the bench).
Every connection the app opens on a file is a ``GatedConnection``, so none ever meets
another writer inside SQLite: a thread of the same process gets the gate the moment it is
given back, another process within a couple of milliseconds, and a writer that waits
longer than SQLite's own busy timeout fails as SQLite would, rather than hang.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any, cast

# Statements that never take SQLite's write lock; any other takes the gate first.
_READS = ("SELECT", "PRAGMA")

# How long a writer queues before it fails as SQLite would ("database is locked"), the
# same bound as the connections' busy timeout: a stuck writer (a process stopped in a
# transaction) costs its followers an error, not a hang.
WAIT_SECONDS = 10.0
# Another process's turn is polled for (flock cannot wait with a deadline): first soon,
# then at most this often. Threads of one process queue on a lock that hands over at once.
_POLL_FIRST, _POLL_MAX = 0.0001, 0.002


class _Gate:
    """This process's place in the file's queue: a thread lock, then the file lock."""

    def __init__(self, path: str) -> None:
        self.turn = threading.Lock()
        self.fd = os.open(path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
        self.owner: int | None = None
        self.depth = 0  # the owner's connections in a write: it never waits for itself


# One gate per process and file: a forked child opens its own descriptor (flock does not
# exclude holders of the same one).
_gates: dict[tuple[int, str], _Gate] = {}
_gates_lock = threading.Lock()


def _gate(path: str) -> _Gate:
    key = (os.getpid(), path)
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = _Gate(path)
        return gate


def _reset_after_fork() -> None:
    # A parent thread may have held the lock as the process forked; the child's gates are
    # its own (keyed by pid) anyway.
    global _gates_lock
    _gates_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _acquire(path: str) -> _Gate:
    gate, me = _gate(path), threading.get_ident()
    if gate.owner == me:
        gate.depth += 1
        return gate
    wait = WAIT_SECONDS
    deadline = time.monotonic() + wait
    if not gate.turn.acquire(timeout=wait):
        raise sqlite3.OperationalError(f"database is locked (write gate of {path})")
    pause = _POLL_FIRST
    while True:
        try:
            fcntl.flock(gate.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                gate.turn.release()
                raise sqlite3.OperationalError(
                    f"database is locked (write gate of {path})"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)
    gate.owner, gate.depth = me, 1
    return gate


def _release(gate: _Gate) -> None:
    gate.depth -= 1
    if gate.depth == 0:
        gate.owner = None
        fcntl.flock(gate.fd, fcntl.LOCK_UN)
        gate.turn.release()


def is_held(path: str) -> bool:
    """Whether any writer (this thread or another, any process) holds the file's gate."""
    fd = os.open(path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if it was taken
    return False


class GatedConnection(sqlite3.Connection):
    """``sqlite3.connect(..., factory=GatedConnection)``: writes queue on the file's gate."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database) if not isinstance(database, bytes) else database.decode()
        # No file to lock beside an in-memory database (nor one named by URI).
        self.gate_path = "" if path in ("", ":memory:") or path.startswith("file:") else path
        self._gate: _Gate | None = None

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or GatedCursor)

    # The shortcuts, which would otherwise make a plain cursor of their own.
    def execute(self, sql: str, parameters: Any = (), /) -> GatedCursor:
        return cast(GatedCursor, self.cursor()).execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GatedCursor:
        return cast(GatedCursor, self.cursor()).executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> GatedCursor:
        return cast(GatedCursor, self.cursor()).executescript(sql_script)

    def before(self, sql: str) -> None:
        if self._gate is None and self.gate_path and sql.lstrip()[:6].upper() not in _READS:
            self._gate = _acquire(self.gate_path)

    def after(self) -> None:
        """Give the gate back once no transaction is open (so no SQLite lock is held)."""
        if self._gate is not None and not self.in_transaction:
            gate, self._gate = self._gate, None
            _release(gate)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.after()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.after()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._gate is not None:
                gate, self._gate = self._gate, None
                _release(gate)


class GatedCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> GatedCursor:
        conn = cast(GatedConnection, self.connection)
        conn.before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            conn.after()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GatedCursor:
        conn = cast(GatedConnection, self.connection)
        conn.before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            conn.after()

    def executescript(self, sql_script: str, /) -> GatedCursor:
        conn = cast(GatedConnection, self.connection)
        conn.before("script")
        try:
            return cast(GatedCursor, super().executescript(sql_script))
        finally:
            conn.after()
