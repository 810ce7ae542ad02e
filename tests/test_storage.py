"""Recording storage: the local folder and the shared database backend, and a web host that
plays what a worker on another host stored."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis

from core.config import load_config
from core.db import db, utcnow
from core.models import Recording, RecordingBlob, RecordingStatus, Role
from ivr import create_app
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator
from simulator.fake_state import FakeTwilio
from tests.conftest import Worker
from tests.dashboard.test_retention import erase
from tests.factories import leave_comment, login, make_user, reload_recording
from transcription import retention, storage

COMMENT = tone_wav(1.0)
SID = "RE" + "5" * 32
SHARED = (  # what two hosts of one deployment have in common
    "TESTING",
    "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY",
    "API_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_PHONE_NUMBER",
    "TWILIO_API_BASE_URL",
    "WTF_CSRF_ENABLED",
    "SESSION_COOKIE_SECURE",
)


def blob_rows() -> int:
    return len(db.session.scalars(db.select(RecordingBlob.seq)).all())


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 1000 bytes, so a one-second recording spans many rows."""
    monkeypatch.setattr(storage, "CHUNK_BYTES", 1000)
    return 1000


@pytest.fixture(params=["local", "database"])
def backend(request: pytest.FixtureRequest, app: Flask, small_chunks: int) -> Any:
    return storage.local() if request.param == "local" else storage.DatabaseStorage()


def test_put_open_read_ranges_and_delete(backend: storage.RecordingStorage) -> None:
    """Each backend gives back exactly the bytes stored, whole or any range, until deleted."""
    data = bytes(range(256)) * 10  # 2560 bytes: three chunks in the database
    assert backend.put(SID, io.BytesIO(data)) == len(data)
    db.session.commit()
    audio = backend.open(SID)
    assert audio is not None and audio.size == len(data) and backend.exists(SID)
    assert b"".join(audio.read()) == data
    assert b"".join(audio.read(990, 2010)) == data[990:2010]  # across chunk boundaries
    assert b"".join(audio.read(2000, 1000)) == b""
    assert b"".join(audio.read(2500, 99999)) == data[2500:]
    with backend.as_file(SID) as path:
        assert Path(path).read_bytes() == data
    assert backend.delete(SID) is True
    db.session.commit()
    assert backend.open(SID) is None and not backend.exists(SID)
    assert backend.delete(SID) is False


def test_put_replaces_an_earlier_copy(backend: storage.RecordingStorage) -> None:
    """Storing again (a retried download) leaves only the new bytes."""
    backend.put(SID, io.BytesIO(b"x" * 2500))
    backend.put(SID, io.BytesIO(b"short"))
    db.session.commit()
    audio = backend.open(SID)
    assert audio is not None and b"".join(audio.read()) == b"short"


def test_a_sid_cannot_name_a_path(app: Flask) -> None:
    """Only Twilio-shaped sids are stored: no way out of RECORDINGS_DIR."""
    with pytest.raises(ValueError, match="not a recording sid"):
        storage.local().put("../../etc/passwd", io.BytesIO(b"x"))
    assert storage.delete_everywhere("../x") is False


def test_unknown_storage_setting_is_refused_at_start() -> None:
    """RECORDING_STORAGE=s3 stops the app with a message naming the choices."""
    with pytest.raises(ValueError, match="RECORDING_STORAGE must be one of local, database"):
        load_config({"RECORDING_STORAGE": "s3"})
    assert load_config({})["RECORDING_STORAGE"] == "local"


# --- two hosts ------------------------------------------------------------------------


@pytest.fixture
def worker_host(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worker (the in-process RQ worker runs with this app) gets its own folder."""
    folder = tmp_path / "worker-recordings"
    monkeypatch.setitem(app.config, "RECORDINGS_DIR", str(folder))
    monkeypatch.setitem(app.config, "RECORDING_STORAGE", "database")
    return folder


@pytest.fixture
def web(app: Flask, redis_conn: Redis, tmp_path: Path) -> Iterator[Flask]:
    """A second web host: same database and Redis, another (empty) recordings folder."""
    host = create_app(
        {key: app.config[key] for key in SHARED}
        | {
            "INSTANCE_DIR": str(tmp_path / "web-instance"),
            "RECORDINGS_DIR": str(tmp_path / "web-recordings"),
            "RECORDING_STORAGE": "database",
        }
    )
    host.extensions["redis"] = redis_conn
    yield host
    with host.app_context():
        db.engine.dispose()


@pytest.fixture
def web_client(app: Flask, web: Flask) -> Any:
    client = web.test_client()
    login(client, make_user(Role.MANAGER))
    return client


def stored_comment(
    simulator: CallerSimulator, survey_url: str, status_url: str, worker: Worker
) -> int:
    rec = leave_comment(simulator, survey_url, status_url, COMMENT)
    worker.run()
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.ANALYSED
    return rec.id


def files_in(*folders: Path) -> list[Path]:
    return [path for folder in folders if folder.exists() for path in folder.rglob("*")]


def test_web_host_plays_what_the_worker_stored_in_the_database(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    worker_host: Path,
    web: Flask,
    web_client: Any,
    small_chunks: int,
    tmp_path: Path,
) -> None:
    """Worker and web have different folders; the web host streams the exact bytes."""
    rid = stored_comment(simulator, survey_url, status_url, worker)
    assert files_in(worker_host, tmp_path / "web-recordings") == []  # nothing on either disk
    url = f"/dashboard/recordings/{rid}/audio"
    whole = web_client.get(url)
    assert (whole.status_code, whole.mimetype) == (200, "audio/wav")
    assert whole.get_data() == COMMENT
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = web_client.get(url, headers={"Range": "bytes=990-2010"})
    assert part.status_code == 206
    assert part.get_data() == COMMENT[990:2011]
    assert part.headers["Content-Range"] == f"bytes 990-2010/{len(COMMENT)}"
    assert part.headers["Content-Length"] == "1021"
    tail = web_client.get(url, headers={"Range": "bytes=-16"})
    assert (tail.status_code, tail.get_data()) == (206, COMMENT[-16:])
    beyond = web_client.get(url, headers={"Range": f"bytes={len(COMMENT)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(COMMENT)}"
    download = web_client.get(url + "?download=1")
    assert download.get_data() == COMMENT
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_call_page_on_the_web_host_offers_the_player(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    worker_host: Path,
    web_client: Any,
) -> None:
    """The call page on another host has the audio player for the stored comment."""
    rid = stored_comment(simulator, survey_url, status_url, worker)
    session_id = reload_recording_by_id(rid).session_id
    page = web_client.get(f"/dashboard/calls/{session_id}").get_data(as_text=True)
    assert f"/dashboard/recordings/{rid}/audio" in page


def reload_recording_by_id(rid: int) -> Recording:
    db.session.expire_all()
    rec = db.session.get(Recording, rid)
    assert rec is not None
    return rec


def test_local_storage_is_not_readable_from_another_host(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    web_client: Any,
) -> None:
    """Why the database backend exists: a file in the worker's folder is a 404 elsewhere."""
    monkeypatch.setitem(app.config, "RECORDINGS_DIR", str(tmp_path / "worker-recordings"))
    rid = stored_comment(simulator, survey_url, status_url, worker)
    assert web_client.get(f"/dashboard/recordings/{rid}/audio").status_code == 404


def test_erasure_on_the_web_host_deletes_the_database_copy(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    worker_host: Path,
    web_client: Any,
    fake_twilio: FakeTwilio,
) -> None:
    """'Delete this caller's data' on the web host removes the stored audio everywhere."""
    rid = stored_comment(simulator, survey_url, status_url, worker)
    assert blob_rows() > 0
    page = erase(web_client, "+14155550123").get_data(as_text=True)
    assert "Erased 1 call(s) and 1 recording(s)" in page
    db.session.expire_all()
    assert blob_rows() == 0
    assert web_client.get(f"/dashboard/recordings/{rid}/audio").status_code == 404


def test_retention_deletes_the_database_copy(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    worker_host: Path,
) -> None:
    """Audio past retention is deleted from the shared table too."""
    rid = stored_comment(simulator, survey_url, status_url, worker)
    later = utcnow() + timedelta(days=app.config["RECORDING_RETENTION_DAYS"] + 1)
    assert retention.purge_expired(later) == 1
    assert blob_rows() == 0
    rec = reload_recording_by_id(rid)
    assert rec.local_path is None and rec.status is RecordingStatus.DELETED
