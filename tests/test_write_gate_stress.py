"""Writers in several processes, each with several threads, never meet inside SQLite: with
no busy timeout at all, every read-modify-write of one counter row goes through, and the
counter ends at the number of increments committed (none lost, none counted twice)."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import threading
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from core.write_gate import GatedConnection, is_held

PROCESSES, THREADS, INCREMENTS = 3, 3, 100
DEADLINE = 30.0  # seconds for every process to finish; a run takes about 1-3 s


class Abandoned(Exception):
    """Raised inside a transaction on purpose: the increment is rolled back."""


def connect(path: str) -> GatedConnection:
    conn = sqlite3.connect(path, timeout=0, factory=GatedConnection, check_same_thread=False)
    assert isinstance(conn, GatedConnection)
    return conn


def increment(conn: GatedConnection, rng: random.Random) -> bool:
    """One read-modify-write of the counter; False when it was abandoned and rolled back."""
    try:
        conn.execute("BEGIN")  # deferred: a stale read would fail at the UPDATE
        (value,) = conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()
        conn.execute("UPDATE counter SET n = ? WHERE id = 1", (value + 1,))
        if rng.random() < 0.2:
            raise Abandoned
        conn.commit()
    except Abandoned:
        conn.rollback()
        return False
    return True


def writer(path: str, seed: int, start: Barrier, committed: list[int], errors: list[str]) -> None:
    rng, conn = random.Random(seed), connect(path)
    start.wait()  # every thread of every process writes at once
    try:
        for _ in range(INCREMENTS):
            try:
                committed[0] += increment(conn, rng)
            except sqlite3.Error as exc:  # "database is locked": two writers met
                conn.rollback()
                errors.append(repr(exc))
    finally:
        conn.close()


def process(path: str, number: int, start: Barrier, results: Queue[tuple[int, list[str]]]) -> None:
    """THREADS writers in this process; puts (increments committed, errors) on ``results``."""
    errors: list[str] = []
    counts = [[0] for _ in range(THREADS)]
    threads = [
        threading.Thread(target=writer, args=(path, number * THREADS + n, start, counts[n], errors))
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((sum(count[0] for count in counts), errors))


def test_writers_in_many_processes_and_threads_never_meet_inside_sqlite(tmp_path: Path) -> None:
    """Every increment committed by 3 processes x 3 threads is counted once, none fails."""
    path = str(tmp_path / "counter.db")
    with connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.execute("INSERT INTO counter VALUES (1, 0)")
    conn.close()
    spawn = multiprocessing.get_context("spawn")
    results, start = spawn.Queue(), spawn.Barrier(PROCESSES * THREADS, timeout=DEADLINE)
    workers = [
        spawn.Process(target=process, args=(path, n, start, results)) for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=DEADLINE) for _ in workers]
        for worker in workers:
            worker.join(5)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()  # a hung writer fails the test, and is not left behind
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert [errors for _, errors in outcomes] == [[]] * PROCESSES
    committed = sum(count for count, _ in outcomes)
    assert 0 < committed < PROCESSES * THREADS * INCREMENTS  # some were abandoned
    reader = connect(path)
    assert reader.execute("SELECT n FROM counter").fetchone() == (committed,)
    reader.close()
    assert not is_held(path)
