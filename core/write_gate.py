"""One queue for every writer of an SQLite file: a file lock (``<db>-writer``) taken by the
connection itself before its first write and given back when its transaction ends.

SQLite lets one connection write at a time; a writer that finds the lock taken is put to
sleep by its busy handler for 1, 2, 5, 10 ... 100 ms between tries, whether or not the lock
came free meanwhile. While the webhook hot path alone queued on this file lock, any other
writer (the full survey flow, status callbacks, workers) met the hot path inside SQLite:
it starved there, then the writer it held up slept up to ~180 ms still holding the queue,
and every webhook waited behind it (the SQLite answer's p99 of 100-300 ms in the bench).
Every connection the app opens on a file is a ``GatedConnection``, so none ever meets
another writer inside SQLite: the kernel hands the lock over at once.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Any, cast

# Statements that never take SQLite's write lock; any other takes the gate first.
_READS = ("SELECT", "PRAGMA")

# One descriptor per process, thread and file (flock does not exclude holders of the same
# descriptor, and a forked child must not share its parent's), with how many of the
# thread's connections hold it: a thread writing on a second connection is not made to
# wait for itself.
_held: dict[tuple[int, int, str], list[int]] = {}


def _acquire(path: str) -> tuple[int, int, str]:
    key = (os.getpid(), threading.get_ident(), path)
    entry = _held.get(key)
    if entry is None:
        entry = _held[key] = [os.open(path + "-writer", os.O_RDWR | os.O_CREAT, 0o600), 0]
    if entry[1] == 0:
        fcntl.flock(entry[0], fcntl.LOCK_EX)
    entry[1] += 1
    return key


def _release(key: tuple[int, int, str]) -> None:
    entry = _held[key]
    entry[1] -= 1
    if entry[1] == 0:
        fcntl.flock(entry[0], fcntl.LOCK_UN)


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
        self._gate: tuple[int, int, str] | None = None

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
