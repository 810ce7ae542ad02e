"""The recorded comment, from Twilio's callback to an analysed transcript (real Whisper)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq.job import Job
from rq.registry import StartedJobRegistry

from core import queues
from core.db import db
from core.models import Contact, Event, Recording, RecordingStatus
from simulator.caller import CallerSimulator
from tests.conftest import API_TOKEN, CUSTOMER, FIXTURES, Worker
from tests.factories import leave_comment, reload_recording

pytestmark = pytest.mark.slow
AUDIO = FIXTURES / "audio"


def comment(simulator: CallerSimulator, survey_url: str, status_url: str, clip: str) -> Recording:
    return leave_comment(simulator, survey_url, status_url, AUDIO / clip)


def test_anxious_comment_is_transcribed_and_flagged(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, worker: Worker
) -> None:
    """The worker turns the caller's words into text and flags distress with the phrases."""
    rec = comment(simulator, survey_url, status_url, "anxious.wav")
    worker.run()
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.ANALYSED
    text = (rec.transcript or "").lower()
    assert "worried" in text and "rent" in text
    assert rec.analysis is not None
    distress = rec.analysis["labels"]["distress"]
    assert distress["flagged"] is True
    assert any("worried" in phrase.lower() for phrase in distress["phrases"])


def test_silent_comment_gives_empty_transcript_and_no_flags(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, worker: Worker
) -> None:
    """Silence is an empty transcript, never Whisper's filler, and flags nothing."""
    rec = comment(simulator, survey_url, status_url, "silence.wav")
    worker.run()
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.ANALYSED
    assert rec.transcript == ""
    assert rec.analysis is not None
    assert not any(label["flagged"] for label in rec.analysis["labels"].values())


def test_spoken_opt_out_stops_future_survey_calls(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    client: Any,
) -> None:
    """ "Stop calling me, take me off your list" in the comment opts the contact out."""
    comment(simulator, survey_url, status_url, "opt_out.wav")
    worker.run()
    db.session.expire_all()
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == CUSTOMER))
    assert contact is not None and contact.opted_out_at is not None
    response = client.post(
        "/api/surveys/calls",
        json={"to": CUSTOMER},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert response.status_code == 409


def test_corrupt_audio_fails_with_a_reason(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, worker: Worker
) -> None:
    """Audio that cannot be decoded ends as failed with a sentence a manager can read."""
    rec = comment(simulator, survey_url, status_url, "corrupt.wav")
    worker.run()
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.FAILED
    assert rec.failure_reason
    assert rec.transcript is None


def test_duplicate_recording_callbacks_transcribe_once(
    app: Flask, fake_twilio: Any, survey_url: str, status_url: str, worker: Worker
) -> None:
    """Twice-delivered recording callbacks make one job and one transcript."""
    noisy = CallerSimulator(
        account_sid=app.config["TWILIO_ACCOUNT_SID"],
        auth_token=app.config["TWILIO_AUTH_TOKEN"],
        recordings=fake_twilio,
        duplicate_callbacks=True,
    )
    comment(noisy, survey_url, status_url, "happy.wav")
    assert worker.queued() == 1
    worker.run()
    assert worker.queued() == 0
    recs = db.session.scalars(db.select(Recording)).all()
    assert len(recs) == 1 and recs[0].status is RecordingStatus.ANALYSED


def worker_env(app: Flask, redis_conn: Redis) -> dict[str, str]:
    socket = getattr(redis_conn, "socket_file", None)
    redis_url = os.environ.get("REDIS_URL") or f"unix://{socket}"
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": app.config["INSTANCE_DIR"],
        "RECORDINGS_DIR": app.config["RECORDINGS_DIR"],
        "TWILIO_ACCOUNT_SID": app.config["TWILIO_ACCOUNT_SID"],
        "TWILIO_AUTH_TOKEN": app.config["TWILIO_AUTH_TOKEN"],
        "TWILIO_API_BASE_URL": app.config["TWILIO_API_BASE_URL"],
        "API_TOKEN": API_TOKEN,
        "SECRET_KEY": "test-secret",
    }


def test_worker_killed_mid_job_finishes_the_recording_exactly_once(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    redis_conn: Redis,
    tmp_path: Path,
) -> None:
    """SIGKILL during transcription: the abandoned job is retried and completes once."""
    rec = comment(simulator, survey_url, status_url, "anxious.wav")
    env = worker_env(app, redis_conn)
    victim = subprocess.Popen(
        [sys.executable, "-m", "workers.worker", "--no-preload"],
        env=env,
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            reload_recording(rec).status is RecordingStatus.PENDING
        ):  # download done: Whisper is next
            assert time.monotonic() < deadline, "worker never started the job"
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
    finally:
        victim.wait(timeout=10)
    assert reload_recording(rec).status is RecordingStatus.DOWNLOADED
    # Time passes: RQ's maintenance finds the job abandoned and schedules its retry...
    queue = queues.get_queue(queues.TRANSCRIPTION, redis_conn)
    StartedJobRegistry(queue=queue).cleanup(time.time() + 3600)
    scheduled = queue.scheduled_job_registry
    assert scheduled.get_job_ids() == [f"recording-{rec.recording_sid}"]
    # ...and the scheduler enqueues it when the retry interval is over.
    job = Job.fetch(scheduled.get_job_ids()[0], connection=redis_conn)
    scheduled.remove(job)
    queue.enqueue_job(job)
    worker.run()
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.ANALYSED
    assert "worried" in (rec.transcript or "").lower()
    assert rec.download_attempts == 1  # the media was fetched once, not again
    assert json.dumps(rec.analysis).count('"distress"') == 1
    assert (
        db.session.scalar(
            db.select(db.func.count(Event.id)).where(Event.kind == "recording.callback")
        )
        == 1
    )
