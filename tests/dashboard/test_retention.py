"""Retention job and "delete this caller's data": here, on Twilio, and in the audit log."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from callbacks import evaluation
from callbacks.models import CallbackAttempt, CallbackTask, FollowUp
from core import events
from core.db import db, utcnow
from core.models import Event, Recording, RecordingStatus, User
from simulator.fake_state import FakeTwilio
from tests.dashboard.conftest import make_session
from tests.factories import csrf_token
from texts.models import TextMessage
from workers import jobs
from workers.cron import build_scheduler

CALLER = "+14155550177"
COMMENT = "Please call me back, I am really worried about my account."


def old_recording(recordings_dir: Path, fake_twilio: FakeTwilio, days: int) -> Recording:
    s = make_session(
        nps=1,
        comment=COMMENT,
        audio_dir=recordings_dir,
        twilio=fake_twilio,
        at=utcnow() - timedelta(days=days),
    )
    rec = s.recordings[0]
    rec.created_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return rec


def test_expired_audio_is_deleted_here_and_on_twilio(
    app: Flask, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """Audio older than RECORDING_RETENTION_DAYS loses its file and its Twilio copy."""
    rec = old_recording(
        recordings_dir, fake_twilio, days=app.config["RECORDING_RETENTION_DAYS"] + 1
    )
    path = Path(rec.local_path or "")
    assert jobs.purge_expired_recordings() == 1
    db.session.expire_all()
    assert not path.exists() and rec.local_path is None
    assert rec.recording_sid in fake_twilio.deleted_recordings
    assert rec.twilio_deleted_at is not None and rec.status is RecordingStatus.DELETED
    assert rec.transcript == COMMENT  # retention removes audio only


def test_recent_audio_is_kept(app: Flask, recordings_dir: Path, fake_twilio: FakeTwilio) -> None:
    """Audio inside the retention period is untouched."""
    rec = old_recording(recordings_dir, fake_twilio, days=1)
    assert jobs.purge_expired_recordings() == 0
    assert Path(rec.local_path or "").exists()
    assert rec.recording_sid not in fake_twilio.deleted_recordings


def test_twilio_failure_is_retried_next_run(
    app: Flask, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """If Twilio cannot be reached the local file still goes, and the next run retries Twilio."""
    rec = old_recording(recordings_dir, fake_twilio, days=400)
    good_base = app.config["TWILIO_API_BASE_URL"]
    app.config["TWILIO_API_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens there
    try:
        jobs.purge_expired_recordings()
    finally:
        app.config["TWILIO_API_BASE_URL"] = good_base
    db.session.expire_all()
    assert rec.local_path is None and rec.twilio_deleted_at is None
    jobs.purge_expired_recordings()
    db.session.expire_all()
    assert rec.twilio_deleted_at is not None
    assert rec.recording_sid in fake_twilio.deleted_recordings


def test_retention_job_is_scheduled(app: Flask) -> None:
    """The cron scheduler runs the retention job."""
    names = [job.func.__name__ for job in build_scheduler().get_jobs()]
    assert "purge_expired_recordings" in names


def erase(client: Any, phone: str, confirm: bool = True) -> Any:
    data = {"csrf_token": csrf_token(client, "/dashboard/privacy"), "phone": phone}
    if confirm:
        data["confirm"] = "yes"
    return client.post("/dashboard/privacy", data=data, follow_redirects=True)


def test_erasure_removes_audio_file_and_twilio_copy(
    app: Flask, signed_in: Any, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """Deleting a caller removes the audio file and Twilio's copy, and says so."""
    s = make_session(
        phone=CALLER, nps=2, comment=COMMENT, audio_dir=recordings_dir, twilio=fake_twilio
    )
    rec = s.recordings[0]
    path = Path(rec.local_path or "")
    page = erase(signed_in, "(415) 555-0177").get_data(as_text=True)
    assert "Erased 1 call(s) and 1 recording(s)" in page
    assert not path.exists()
    assert rec.recording_sid in fake_twilio.deleted_recordings


def test_erasure_leaves_no_trace_of_the_number_or_words(
    app: Flask, signed_in: Any, recordings_dir: Path, fake_twilio: FakeTwilio
) -> None:
    """After erasure neither the number nor the transcript appears in any table."""
    make_session(phone=CALLER, nps=2, comment=COMMENT, audio_dir=recordings_dir, twilio=fake_twilio)
    erase(signed_in, CALLER)
    dump = []
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(text(f"SELECT * FROM {table.name}")).all()  # noqa: S608
        dump.extend(json.dumps([str(v) for v in row]) for row in rows)
    everything = "\n".join(dump)
    assert "4155550177" not in everything
    assert "really worried" not in everything


def test_erasure_keeps_scores_for_trends(app: Flask, signed_in: Any) -> None:
    """Scores stay (without the number) so trends do not change."""
    s = make_session(phone=CALLER, nps=2)
    erase(signed_in, CALLER)
    db.session.expire_all()
    assert [a.value for a in s.answers] == [2]
    assert s.from_number == "erased"


def test_erasure_is_audited_without_the_number(
    app: Flask, signed_in: Any, manager: User, recordings_dir: Path
) -> None:
    """The audit row names who erased and what, but not the phone number."""
    make_session(phone=CALLER, nps=2, comment=COMMENT, audio_dir=recordings_dir)
    erase(signed_in, CALLER)
    event = db.session.scalar(db.select(Event).where(Event.kind == "caller.data_deleted"))
    assert event is not None and event.user_id == manager.id
    assert event.data["recordings"] == 1 and event.data["sessions"] == 1
    assert "0177" not in json.dumps(event.data)
    deleted = db.session.scalars(db.select(Event).where(Event.kind == "recording.deleted")).all()
    assert [e.user_id for e in deleted] == [manager.id]


def test_erasure_other_callers_untouched(app: Flask, signed_in: Any, recordings_dir: Path) -> None:
    """Another caller's recording and number stay."""
    other = make_session(phone="+14155550999", nps=2, comment=COMMENT, audio_dir=recordings_dir)
    make_session(phone=CALLER, nps=2)
    erase(signed_in, CALLER)
    db.session.expire_all()
    assert other.from_number == "+14155550999"
    assert Path(other.recordings[0].local_path or "").exists()


def test_erasure_needs_confirmation(app: Flask, signed_in: Any, recordings_dir: Path) -> None:
    """Without the confirmation box nothing is deleted."""
    s = make_session(phone=CALLER, nps=2, comment=COMMENT, audio_dir=recordings_dir)
    page = erase(signed_in, CALLER, confirm=False).get_data(as_text=True)
    assert "Tick the box" in page
    assert Path(s.recordings[0].local_path or "").exists()


@pytest.mark.parametrize("phone", ["not a number", "12"])
def test_erasure_rejects_bad_numbers(app: Flask, signed_in: Any, phone: str) -> None:
    """A malformed number is reported, not guessed at."""
    assert "not a phone number" in erase(signed_in, phone).get_data(as_text=True)


def test_erasure_scrubs_callback_tasks(app: Flask, signed_in: Any) -> None:
    """Callback tasks for the caller lose the number and the agent's notes."""
    s = make_session(phone=CALLER, nps=2)
    task = CallbackTask(
        session_id=s.id,
        contact_id=s.contact_id,
        phone=CALLER,
        timezone="America/New_York",
        scheduled_for=utcnow(),
        due_at=utcnow() + timedelta(hours=1),
        notes="Spoke to Jane at 415 555 0177",
    )
    db.session.add(task)
    db.session.commit()
    erase(signed_in, CALLER)
    db.session.expire_all()
    assert task.phone == "erased" and task.notes is None


def everything_stored() -> str:
    """Every row of every table, as one string."""
    dump = []
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(text(f"SELECT * FROM {table.name}")).all()  # noqa: S608
        dump.extend(json.dumps([str(v) for v in row]) for row in rows)
    return "\n".join(dump)


def test_erasure_scrubs_the_callers_words_from_callback_tasks(
    app: Flask, signed_in: Any, recordings_dir: Path
) -> None:
    """A task's reasons quote the comment; after erasure the task page shows none of it."""
    s = make_session(phone=CALLER, nps=2, comment=COMMENT, audio_dir=recordings_dir)
    task = evaluation.evaluate_session(s.id)
    assert task is not None
    page = signed_in.get(f"/callbacks/{task.id}").get_data(as_text=True)
    assert "really worried" in page  # the reason quotes the caller, and the script does too
    erase(signed_in, CALLER)
    page = signed_in.get(f"/callbacks/{task.id}").get_data(as_text=True)
    assert "really worried" not in page and "0177" not in page
    assert "really worried" not in everything_stored()
    db.session.expire_all()
    assert task.reason_codes and all(r["detail"] == "erased" for r in task.reasons)


def test_erasure_leaves_no_trace_in_attempts_follow_ups_texts_or_events(
    app: Flask, signed_in: Any
) -> None:
    """An attempt's error, a follow-up's reason, a text and an event name the number: all go."""
    s = make_session(phone=CALLER, nps=2)
    task = evaluation.evaluate_session(s.id)
    assert task is not None
    db.session.add_all(
        [
            CallbackAttempt(
                task_id=task.id,
                to_number=CALLER,
                agent_number="+14155550100",
                error=f"Twilio: the number {CALLER} is unreachable",
            ),
            FollowUp(task_id=task.id, due_at=utcnow(), reason=f"{CALLER} opted out; not sent"),
            TextMessage(
                direction="inbound",
                number=CALLER.lstrip("+"),  # stored before numbers had one form
                body="I am really worried",
                purpose="reply",
            ),
        ]
    )
    events.record("survey.refused", data={"reason": f"{CALLER} is on the do-not-call list."})
    db.session.commit()
    erase(signed_in, CALLER)
    everything = everything_stored()
    assert "4155550177" not in everything
    assert "really worried" not in everything
