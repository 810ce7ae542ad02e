"""One queue for every writer of an SQLite file: a file lock (``<db>-writer``) taken by the
connection itself before its first write and given back when its transaction ends.

SQLite lets one connection write at a time; a writer that finds the lock taken is put to
sleep by its busy handler for 1, 2, 5, 10 ... 100 ms between tries, whether or not the lock
came free meanwhile. While the webhook hot path alone queued on this file lock, any other
writer (the full survey flow, status callbacks, workers) met the hot path inside SQLite:
it starved there, then the writer it held up slept up to ~180 ms still holding the queue,
and every webhook waited behind it (the SQLite answer's p99 of 100-300 ms in the bench).
Every connection the app opens on a file is a ``GatedConnection``, so none ever meets
another writer inside SQLite: every waiter, in any process, is woken the moment the gate is
given back, and a writer that waits longer than SQLite's own busy timeout fails as SQLite
would, rather than hang.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

# Statements that take no write lock as the app uses them (its PRAGMAs are settings made
# at connect); any other statement takes the gate first.
_READS = ("SELECT", "PRAGMA")

# How long a writer queues before it fails as SQLite would ("database is locked"), the
# same bound as the connections' busy timeout: a stuck writer (a process stopped in a
# transaction) costs its followers an error, not a hang.
WAIT_SECONDS = 10.0

_FREE, _PENDING, _HELD = "free", "pending", "held"


class _Gate:
    """One thread's place in a file's queue.

    The threads of one process first queue on the process's own lock for the file (its
    ``turn``): handing the gate to a thread of the same process is then one futex wake-up,
    not a trip through the file lock and a helper thread (four to six context switches a
    write under gunicorn's threads). The thread whose turn it is takes the file lock on its
    own descriptor, so a waiter of every process queues in the kernel and is woken the
    moment the lock is given back (polling let the threads of a busy process pass the
    lock among themselves while another process slept). flock cannot wait with a
    deadline, so a helper thread waits in it and the writer waits on the helper; the turn
    and the file lock together are waited for at most ``WAIT_SECONDS``, and a wait given
    up is let go once it is granted.
    """

    def __init__(self, path: str) -> None:
        self.path, self.pid = path, os.getpid()
        self.fd = os.open(path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
        self.depth = 0  # this thread's connections in a write: it never waits for itself
        self.turn = _turn(path)
        self._changed = threading.Condition(threading.Lock())
        self._state, self._wanted, self._go = _FREE, False, False
        self._waiter: threading.Thread | None = None

    def acquire(self) -> None:
        if self.depth:
            self.depth += 1
            return
        started = time.monotonic()
        if not self.turn.acquire(timeout=WAIT_SECONDS):
            raise sqlite3.OperationalError(f"database is locked (write gate of {self.path})")
        try:
            self._lock_file(max(0.0, WAIT_SECONDS - (time.monotonic() - started)))
        except BaseException:
            self.turn.release()
            raise
        self.depth = 1

    def _lock_file(self, timeout: float) -> None:
        with self._changed:
            if self._state == _FREE:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._state = _HELD
                except BlockingIOError:
                    self._wait_in_kernel()
            self._wanted = True  # a wait given up earlier may still be pending: take it
            granted = False
            try:
                granted = self._changed.wait_for(lambda: self._state == _HELD, timeout)
            finally:  # given up, or a job timeout raised while queued: leave no lock behind
                self._wanted = False
                if not granted and self._state == _HELD:
                    self._unlock()
            if not granted:
                raise sqlite3.OperationalError(f"database is locked (write gate of {self.path})")

    def release(self) -> None:
        if os.getpid() != self.pid:
            return  # a forked child's copy: unlocking would free the parent's lock
        self.depth -= 1
        if self.depth == 0:
            try:
                with self._changed:
                    self._unlock()
            finally:  # a job timeout raised here must not keep this process's turn for good
                self.turn.release()

    def _unlock(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self._state = _FREE

    def _wait_in_kernel(self) -> None:
        self._state, self._go = _PENDING, True
        if self._waiter is None:
            self._waiter = threading.Thread(
                target=self._wait_forever, name="sqlite-write-gate", daemon=True
            )
            self._waiter.start()
        self._changed.notify_all()

    def _wait_forever(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._go)
                self._go = False
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            with self._changed:
                if self._wanted:
                    self._state = _HELD
                    self._changed.notify_all()
                else:
                    self._unlock()


# One gate per process, thread and file, and one turn per process and file; a forked
# child makes its own (a copy of a lock a parent's thread held would never be released).
_gates: dict[tuple[int, int, str], _Gate] = {}
_turns: dict[tuple[int, str], threading.Lock] = {}
_turns_lock = threading.Lock()


def _turn(path: str) -> threading.Lock:
    with _turns_lock:
        return _turns.setdefault((os.getpid(), path), threading.Lock())


def _new_turns_lock() -> None:
    global _turns_lock
    _turns_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_turns_lock)


def _acquire(path: str) -> _Gate:
    key = (os.getpid(), threading.get_ident(), path)
    gate = _gates.get(key)
    if gate is None:
        gate = _gates[key] = _Gate(path)
    gate.acquire()
    return gate


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

    @contextmanager
    def gated(self, sql: str) -> Iterator[None]:
        """Around one statement: a write takes the gate first; it is given back once no
        transaction is open (so no SQLite lock is held)."""
        if self._gate is None and self.gate_path and sql.lstrip()[:6].upper() not in _READS:
            self._gate = _acquire(self.gate_path)
        try:
            yield
        finally:
            if not self.in_transaction:
                self._give_back()

    def _give_back(self) -> None:
        if self._gate is not None:
            gate, self._gate = self._gate, None
            gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


class GatedCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> GatedCursor:
        with cast(GatedConnection, self.connection).gated(sql):
            return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GatedCursor:
        with cast(GatedConnection, self.connection).gated(sql):
            return super().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> GatedCursor:
        with cast(GatedConnection, self.connection).gated("script"):
            return cast(GatedCursor, super().executescript(sql_script))
