"""Nothing lost in an outage: recordings whose callbacks we never stored are fetched back
from Twilio by the sweep and analysed once, and every survey gets a callback verdict."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from callbacks import evaluation
from callbacks import sweep as callback_sweep
from callbacks.models import CallbackTask
from core.db import db, utcnow
from core.models import CallSession, Event, Recording, RecordingStatus, SurveyOutcome
from simulator.actions import Press, RecordAudio
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import add_comment
from tests.callbacks.conftest import make_session as finished_survey
from tests.conftest import COMPANY_NUMBER, CUSTOMER, Worker
from transcription import pipeline

COMMENT = tone_wav(1.0)
LOW_SCORES_AND_COMMENT = [
    Press("3#"),
    Press("2"),
    Press("2"),
    Press("1"),
    RecordAudio(COMMENT),
    Press("2"),
]
LATER = timedelta(minutes=6)  # past the sweep's grace for late callbacks


def database_down(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("INSERT INTO recordings", {}, Exception("server closed the connection"))


def take_survey(simulator: CallerSimulator, survey_url: str, status_url: str) -> CallSession:
    simulator.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url).run(
        LOW_SCORES_AND_COMMENT
    )
    db.session.expire_all()
    session = db.session.scalar(db.select(CallSession))
    assert session is not None
    return session


def recordings() -> list[Recording]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Recording)))


def twilio_requests(fake: FakeTwilio, path_part: str) -> int:
    return sum(1 for entry in fake.api_log if path_part in entry["path"])


def media_downloads(fake: FakeTwilio, sid: str) -> int:
    """GETs of the audio itself (not the .json metadata)."""
    return sum(
        1
        for entry in fake.api_log
        if entry["method"] == "GET" and entry["path"].split("?")[0].endswith(f"/Recordings/{sid}")
    )


def test_lost_recording_callbacks_are_fetched_back_and_analysed_once(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Database down for the <Record> action and the recording callback: the sweep asks
    Twilio for the call's recordings, and the comment is downloaded and analysed once."""
    with monkeypatch.context() as outage:
        outage.setattr(pipeline, "register", database_down)
        session = take_survey(simulator, survey_url, status_url)
    assert recordings() == [] and session.consent_recording is True
    [twilio_copy] = fake_twilio.recording_list(session.call_sid)

    assert pipeline.sweep(utcnow() + timedelta(minutes=1)) == 0  # a late callback may come
    assert twilio_requests(fake_twilio, "/Recordings.json") == 0
    assert pipeline.sweep(utcnow() + LATER) == 1
    assert pipeline.sweep(utcnow() + LATER) == 0  # registered and enqueued once
    worker.run()
    assert pipeline.sweep(utcnow() + LATER * 2) == 0

    [rec] = recordings()
    assert rec.recording_sid == twilio_copy.sid
    assert rec.status is RecordingStatus.ANALYSED and rec.transcript is not None
    assert media_downloads(fake_twilio, rec.recording_sid) == 1
    assert twilio_requests(fake_twilio, "/Recordings.json") == 1  # the call was asked once


def test_pending_recording_never_reported_ready_is_picked_up_after_grace(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the recording status callback is lost: the row waits, pending and not ready,
    until the sweep confirms with Twilio that the media is there, then it is analysed."""
    with monkeypatch.context() as outage:
        outage.setattr(pipeline, "on_status_callback", database_down)
        take_survey(simulator, survey_url, status_url)
    [rec] = recordings()
    assert rec.status is RecordingStatus.PENDING and not rec.media_ready
    assert pipeline.sweep() == 0  # too young: Twilio's callback may still be on its way
    assert twilio_requests(fake_twilio, f"/Recordings/{rec.recording_sid}.json") == 0
    assert pipeline.sweep(utcnow() + LATER) == 1
    worker.run()
    [rec] = recordings()
    assert rec.status is RecordingStatus.ANALYSED
    assert media_downloads(fake_twilio, rec.recording_sid) == 1


@pytest.mark.parametrize("status", ["absent", "failed"])
def test_recording_twilio_gave_up_on_fails_with_a_reason(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    status: str,
) -> None:
    """A recording Twilio reports as absent or failed ends failed, with that reason."""
    with monkeypatch.context() as outage:
        outage.setattr(pipeline, "on_status_callback", database_down)
        take_survey(simulator, survey_url, status_url)
    [rec] = recordings()
    fake_twilio.recordings[rec.recording_sid].status = status
    assert pipeline.sweep(utcnow() + LATER) == 0
    [rec] = recordings()
    assert rec.status is RecordingStatus.FAILED
    assert rec.failure_reason == f"Twilio reports the recording as {status}"


def test_recording_still_processing_waits_then_fails_after_a_day(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twilio still processing: the sweep waits, and gives up with a reason after a day."""
    with monkeypatch.context() as outage:
        outage.setattr(pipeline, "on_status_callback", database_down)
        take_survey(simulator, survey_url, status_url)
    [rec] = recordings()
    fake_twilio.recordings[rec.recording_sid].status = "processing"
    assert pipeline.sweep(utcnow() + LATER) == 0
    assert recordings()[0].status is RecordingStatus.PENDING
    assert pipeline.sweep(utcnow() + timedelta(days=1, minutes=1)) == 0
    [rec] = recordings()
    assert rec.status is RecordingStatus.FAILED
    assert "still reports the recording as processing" in (rec.failure_reason or "")


def test_call_with_nothing_on_twilio_is_asked_about_once(
    app: Flask, fake_twilio: FakeTwilio
) -> None:
    """A caller who agreed to record but said nothing: Twilio is asked once, not every minute."""
    session = finished_survey(nps=9)
    session.consent_recording = True
    db.session.commit()
    for minutes in (6, 7, 60):
        assert pipeline.sweep(utcnow() + timedelta(minutes=minutes)) == 0
    assert twilio_requests(fake_twilio, "/Recordings.json") == 1
    assert recordings() == []


def test_twilio_unreachable_during_the_sweep_is_asked_again_later(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If Twilio cannot be reached, nothing is marked as looked up; the next sweep finds it."""
    with monkeypatch.context() as outage:
        outage.setattr(pipeline, "register", database_down)
        take_survey(simulator, survey_url, status_url)
    with monkeypatch.context() as twilio_down:
        twilio_down.setitem(app.config, "TWILIO_API_BASE_URL", "http://127.0.0.1:9")
        assert pipeline.sweep(utcnow() + LATER) == 0
    assert db.session.scalar(db.select(Event).where(Event.kind == "recording.lookup")) is None
    assert pipeline.sweep(utcnow() + LATER) == 1
    assert len(recordings()) == 1


# --- every finished survey gets a callback verdict --------------------------------------


def open_tasks() -> list[CallbackTask]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(CallbackTask).where(CallbackTask.closed_at.is_(None))))


def test_comment_read_but_never_judged_is_judged_by_the_sweep(app: Flask) -> None:
    """The job died between reading the comment and the rules: the sweep opens the task."""
    session = finished_survey(nps=9)  # nothing in the keypad answers asks for a callback
    evaluation.evaluate_session(session.id)
    assert open_tasks() == []
    add_comment(session, "I am really scared, I can't pay my rent and I don't know what to do.")
    counts = callback_sweep.sweep(utcnow() + timedelta(minutes=5))
    assert counts["evaluated"] == 1
    [task] = open_tasks()
    assert "distress" in {reason["code"] for reason in task.reasons}
    assert callback_sweep.sweep(utcnow() + timedelta(minutes=6))["evaluated"] == 0


def test_survey_whose_end_was_never_heard_is_judged_on_its_answers(app: Flask) -> None:
    """Status callback lost: a survey still 'in progress' after an hour gets its verdict."""
    session = finished_survey(nps=1, ended_at=utcnow() - timedelta(hours=2))
    session.outcome = SurveyOutcome.IN_PROGRESS
    session.ended_at = None
    db.session.commit()
    assert callback_sweep.sweep(session.created_at + timedelta(minutes=30))["evaluated"] == 0
    assert callback_sweep.sweep()["evaluated"] == 1
    assert [t.session_id for t in open_tasks()] == [session.id]
    assert callback_sweep.sweep()["evaluated"] == 0
