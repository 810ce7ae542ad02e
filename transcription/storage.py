"""Where our copy of each recording's audio lives, addressed by its RecordingSid.

Two backends, chosen for new recordings by ``RECORDING_STORAGE``:

* ``local`` (the default, no services needed): one file per recording in ``RECORDINGS_DIR``.
  Only the host that wrote it can read it, so web and worker must share that folder.
* ``database``: chunks in the ``recording_blobs`` table, so any host that reaches
  PostgreSQL (web, every worker) reads the same bytes. Recordings are small (at most
  ``RECORDING_MAX_BYTES``), so no object store is needed; see README "Recording storage".

``Recording.local_path`` keeps the :func:`location` of our copy (None: we hold none), so a
recording stored before the setting changed is still read from where it went. Database
writes and deletes join the caller's transaction: they are durable when the caller commits,
together with the row that points at them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from flask import current_app
from sqlalchemy import delete, func, insert, select

from core.db import db
from core.models import RecordingBlob

CHUNK_BYTES = 1024 * 1024  # one row per MiB: reads of a range fetch only the rows they need
READ_BYTES = 64 * 1024
DATABASE_PREFIX = "database:"
SID = re.compile(r"^[A-Za-z0-9]{2,64}$")  # also keeps a sid from naming a path elsewhere


def _check(sid: str) -> str:
    if not SID.match(sid):
        raise ValueError(f"not a recording sid: {sid!r}")
    return sid


@dataclass(frozen=True)
class StoredAudio:
    """One held recording: its size, and its bytes read lazily, whole or a range."""

    storage: RecordingStorage
    sid: str
    size: int

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Yield bytes ``start`` up to (not including) ``stop``, a piece at a time."""
        stop = self.size if stop is None else min(stop, self.size)
        if start < stop:
            yield from self.storage.read_range(self.sid, start, stop)


class RecordingStorage(ABC):
    """put / open / delete / exists by RecordingSid."""

    name: ClassVar[str]

    @abstractmethod
    def put(self, sid: str, source: BinaryIO) -> int:
        """Store everything readable from ``source`` under ``sid`` (replacing any); its size."""

    @abstractmethod
    def size(self, sid: str) -> int | None:
        """Bytes held for ``sid``; None when we hold nothing."""

    @abstractmethod
    def read_range(self, sid: str, start: int, stop: int) -> Iterator[bytes]:
        """Bytes ``start``..``stop`` (exclusive) of a held recording, within its size."""

    @abstractmethod
    def delete(self, sid: str) -> bool:
        """Forget ``sid``'s audio; True when there was some."""

    @abstractmethod
    def location(self, sid: str) -> str:
        """What ``Recording.local_path`` keeps for a recording stored here."""

    def exists(self, sid: str) -> bool:
        return self.size(sid) is not None

    def open(self, sid: str) -> StoredAudio | None:
        size = self.size(_check(sid))
        return None if size is None else StoredAudio(self, sid, size)

    @contextmanager
    def as_file(self, sid: str) -> Iterator[Path]:
        """A file holding the audio for as long as the block runs (for the decoder)."""
        audio = self.open(sid)
        if audio is None:
            raise FileNotFoundError(f"no stored audio for {sid}")
        with tempfile.TemporaryDirectory(prefix="recording-") as tmp:
            path = Path(tmp) / f"{sid}.wav"
            with path.open("wb") as out:
                for piece in audio.read():
                    out.write(piece)
            yield path


class LocalStorage(RecordingStorage):
    """``<RECORDINGS_DIR>/<sid>.wav`` on this host."""

    name = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sid: str) -> Path:
        return self.root / f"{_check(sid)}.wav"

    def put(self, sid: str, source: BinaryIO) -> int:
        dest = self.path(sid)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, READ_BYTES)
            os.replace(tmp_name, dest)  # atomic: a reader never sees half a file
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        return dest.stat().st_size

    def size(self, sid: str) -> int | None:
        path = self.path(sid)
        return path.stat().st_size if path.is_file() else None

    def read_range(self, sid: str, start: int, stop: int) -> Iterator[bytes]:
        with self.path(sid).open("rb") as audio:
            audio.seek(start)
            left = stop - start
            while left > 0:
                piece = audio.read(min(READ_BYTES, left))
                if not piece:
                    return
                left -= len(piece)
                yield piece

    def delete(self, sid: str) -> bool:
        path = self.path(sid)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        return existed

    def location(self, sid: str) -> str:
        return str(self.path(sid).resolve())

    @contextmanager
    def as_file(self, sid: str) -> Iterator[Path]:
        path = self.path(sid)
        if not path.is_file():
            raise FileNotFoundError(f"no stored audio for {sid}")
        yield path


class DatabaseStorage(RecordingStorage):
    """Chunks in ``recording_blobs`` (bytea on PostgreSQL), shared by every host."""

    name = "database"
    table = RecordingBlob.__table__

    def put(self, sid: str, source: BinaryIO) -> int:
        _check(sid)
        db.session.execute(delete(self.table).where(self.table.c.recording_sid == sid))
        size = seq = 0
        while piece := source.read(CHUNK_BYTES):
            db.session.execute(insert(self.table).values(recording_sid=sid, seq=seq, data=piece))
            size += len(piece)
            seq += 1
        return size

    def _lengths(self, sid: str) -> list[tuple[int, int]]:
        rows = db.session.execute(
            select(self.table.c.seq, func.length(self.table.c.data))
            .where(self.table.c.recording_sid == _check(sid))
            .order_by(self.table.c.seq)
        )
        return [(int(seq), int(length)) for seq, length in rows]

    def size(self, sid: str) -> int | None:
        lengths = self._lengths(sid)
        return sum(length for _, length in lengths) if lengths else None

    def read_range(self, sid: str, start: int, stop: int) -> Iterator[bytes]:
        # Offsets come from the stored lengths, so chunks written with another size still read.
        offset = 0
        for seq, length in self._lengths(sid):
            end = offset + length
            if end > start and offset < stop:
                data = db.session.scalar(
                    select(self.table.c.data)
                    .where(self.table.c.recording_sid == sid)
                    .where(self.table.c.seq == seq)
                )
                yield bytes(data or b"")[max(start - offset, 0) : min(stop, end) - offset]
            if end >= stop:
                return
            offset = end

    def delete(self, sid: str) -> bool:
        result = db.session.execute(
            delete(self.table).where(self.table.c.recording_sid == _check(sid))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def location(self, sid: str) -> str:
        return DATABASE_PREFIX + _check(sid)


BACKENDS = ("local", "database")


def local() -> LocalStorage:
    return LocalStorage(current_app.config["RECORDINGS_DIR"])


def configured() -> RecordingStorage:
    """Where new recordings go (``RECORDING_STORAGE``)."""
    name = current_app.config.get("RECORDING_STORAGE", "local")
    if name == "database":
        return DatabaseStorage()
    if name == "local":
        return local()
    raise ValueError(f"RECORDING_STORAGE must be one of {BACKENDS}, not {name!r}")


def for_location(location: str | None) -> RecordingStorage | None:
    """The backend holding a copy whose ``Recording.local_path`` is ``location``."""
    if not location:
        return None
    return DatabaseStorage() if location.startswith(DATABASE_PREFIX) else local()


def open_held(sid: str, location: str | None) -> StoredAudio | None:
    """Our copy of a recording, if we still hold it."""
    backend = for_location(location)
    return backend.open(sid) if backend is not None else None


def delete_everywhere(sid: str) -> bool:
    """Delete the audio from every backend (a setting changed, a half-finished download)."""
    if not SID.match(sid):
        return False  # nothing can have been stored under it
    deleted = False
    for backend in (local(), DatabaseStorage()):
        deleted = backend.delete(sid) or deleted
    return deleted
