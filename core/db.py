"""SQLAlchemy setup shared by every package."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event, literal
from sqlalchemy.orm import DeclarativeBase

from core.prepared import HeldConnections
from core.write_gate import WAIT_SECONDS, GatedConnection

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def utcnow() -> datetime:
    return datetime.now(UTC)


def bound(value: object, column: Any) -> Any:
    """``value`` as a bound parameter of ``column``'s type, for SQL-side UPDATEs (``CASE``,
    ``COALESCE``): enums and UTC times are stored exactly as an ORM write stores them."""
    return literal(value, column.type)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite ignores foreign keys unless asked, and several processes (web, worker)
    # share the file: WAL plus a busy timeout keeps writers from failing at once.
    # synchronous=NORMAL is safe in WAL (no corruption); a power cut may lose the last
    # commits, not a crashed process. It spares an fsync per webhook (README "Speed").
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(WAIT_SECONDS * 1000)}")
        # Checkpoints run in a thread of their own, not in whichever request commits
        # when the WAL is full: an unfinished one was retried, with its fsync, by every
        # commit after it (a webhook's slow tail).
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # once reset, cut back
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"]
        cursor.close()
        if files and files[0]:
            _start_checkpointer(files[0])


CHECKPOINT_SECONDS = 1.0
WAL_SIZE_LIMIT = 64 * 1024 * 1024
_checkpointers: set[tuple[int, str]] = set()
_checkpointers_lock = threading.Lock()


def _start_checkpointer(path: str) -> None:
    """One checkpointing thread per process and database file (a forked worker its own)."""
    key = (os.getpid(), path)
    with _checkpointers_lock:
        if key in _checkpointers:
            return
        _checkpointers.add(key)
    threading.Thread(
        target=_checkpoint_forever, args=(path,), name="sqlite-checkpoint", daemon=True
    ).start()


# Held while the checkpointer is inside SQLite and across every fork (RQ forks a work
# horse per job): a child forked while the thread held SQLite's own mutexes would hang
# at its first query.
_in_sqlite = threading.Lock()
os.register_at_fork(
    before=_in_sqlite.acquire,
    after_in_parent=_in_sqlite.release,
    after_in_child=_in_sqlite.release,
)


def _checkpoint_forever(path: str) -> None:
    with _in_sqlite:
        conn = sqlite3.connect(path, timeout=WAIT_SECONDS)
    while True:
        time.sleep(CHECKPOINT_SECONDS)
        try:  # PASSIVE: copies what no reader still needs; never blocks a request
            with _in_sqlite:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.debug("checkpoint of %s skipped: %s", path, exc)


def init_app(app: Flask) -> None:
    uri = str(app.config.get("SQLALCHEMY_DATABASE_URI", ""))
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        # A file has no server connection to lose: no ping before every request's query.
        options.pop("pool_pre_ping", None)
        # Every writer of the file queues on one gate, never in SQLite's busy handler.
        options["connect_args"] = {**options.get("connect_args", {}), "factory": GatedConnection}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    else:
        # A pool of its own, without the ping (a round trip) before each checkout, for the
        # webhook hot path, which runs a turn again when its connection was found dead.
        # Its connections stay in autocommit (each statement commits itself): the hot path
        # wants no BEGIN or COMMIT round trip, and switching each checkout in and out of
        # it cost CPU every turn. Not a Flask-SQLAlchemy bind: a bind's metadata is kept
        # on ``db``, shared by apps.
        unpinged = {**options, "pool_pre_ping": False, "isolation_level": "AUTOCOMMIT"}
        app.extensions[UNPINGED] = HeldConnections(create_engine(uri, **unpinged))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", "migrations")))


UNPINGED = "unpinged"


def unpinged_engine() -> Engine:
    """The engine for code that survives a dead pooled connection itself
    (``core.prepared.run``): on a server database, a pool without pings; SQLite's own."""
    held = held_connections()
    return held.engine if held is not None else db.engine


def held_connections() -> HeldConnections | None:
    """On a server database, a connection per thread from the unpinged engine, kept between
    turns (``core.prepared.HeldConnections``); None on SQLite (its pool and write gate)."""
    held: HeldConnections | None = current_app.extensions.get(UNPINGED)
    return held
