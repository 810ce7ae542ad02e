"""Signatures, idempotent callbacks, failures that must not lose data."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from redis import Redis

from core.db import db
from core.models import CallSession, CallStatus, Event, Recording, Survey
from simulator.actions import Press, RecordAudio
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator
from tests.conftest import COMPANY_NUMBER, CUSTOMER, Worker, sign, twilio_post
from transcription import pipeline as recordings

START = {
    "CallSid": "CA" + "1" * 32,
    "AccountSid": "AC" + "0" * 32,
    "From": CUSTOMER,
    "To": COMPANY_NUMBER,
    "CallStatus": "in-progress",
    "Direction": "inbound",
}
RECORD_SURVEY = [
    Press("4#"),
    Press("2"),
    Press("2"),
    Press("1"),
    RecordAudio(tone_wav(1.5)),
    Press("2"),
]


def count(model: Any) -> int:
    db.session.expire_all()
    return len(db.session.scalars(db.select(model)).all())


def test_forged_signature_is_rejected_and_nothing_stored(app: Flask, client: Any) -> None:
    """A request signed with the wrong token gets 403 and leaves no rows behind."""
    response = twilio_post(client, app, "/twilio/voice/survey", START, token="not-the-token")
    assert response.status_code == 403
    unsigned = client.post("/twilio/voice/status", data={**START, "CallStatus": "completed"})
    assert unsigned.status_code == 403
    assert count(CallSession) == 0
    assert count(Event) == 0


def test_tampered_parameters_fail_the_signature(app: Flask, client: Any) -> None:
    """Changing one signed parameter (the digits) invalidates the request."""
    path = "/twilio/voice/survey?step=q&n=0&try=1"
    headers = sign(app.config["PUBLIC_BASE_URL"] + path, {**START, "Digits": "10"})
    response = client.post(path, data={**START, "Digits": "0"}, headers=headers)
    assert response.status_code == 403


def test_signature_checked_against_public_url_behind_a_proxy(
    app: Flask, fake_twilio: Any, survey_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy, Twilio signs the public URL; PUBLIC_BASE_URL makes it validate."""
    public = "https://surveys.example.com"
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", public)
    behind_proxy = CallerSimulator(
        account_sid="AC" + "0" * 32,
        auth_token=app.config["TWILIO_AUTH_TOKEN"],
        recordings=fake_twilio,
        public_base_url=public,
    )
    result = behind_proxy.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER).run(
        [Press("9#"), Press("5")]
    )
    assert result.errors == []
    assert count(CallSession) == 1
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://other.example.com")
    rejected = behind_proxy.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER).run([Press("9#")])
    assert rejected.requests[0].status_code == 403
    assert count(CallSession) == 1


def test_duplicate_and_reordered_callbacks_count_once(
    app: Flask, fake_twilio: Any, survey_url: str, status_url: str, worker: Worker
) -> None:
    """Doubled, reversed status and recording callbacks: one session, one recording, one job."""
    noisy = CallerSimulator(
        account_sid="AC" + "0" * 32,
        auth_token=app.config["TWILIO_AUTH_TOKEN"],
        recordings=fake_twilio,
        duplicate_callbacks=True,
        reorder_callbacks=True,
    )
    result = noisy.call(
        survey_url,
        from_=CUSTOMER,
        to=COMPANY_NUMBER,
        status_callback=status_url,
        status_events=("initiated", "ringing", "answered", "completed"),
    ).run(RECORD_SURVEY)
    assert result.errors == []
    assert count(CallSession) == 1
    assert count(Recording) == 1
    assert worker.queued() == 1
    session = db.session.scalar(db.select(CallSession))
    assert session is not None and session.status is CallStatus.COMPLETED  # never regressed


def test_late_ringing_callback_does_not_move_status_back(app: Flask, client: Any) -> None:
    """A 'ringing' callback arriving after 'completed' is recorded but changes nothing."""
    twilio_post(
        client,
        app,
        "/twilio/voice/status",
        {**START, "CallStatus": "completed", "CallDuration": "42"},
    )
    response = twilio_post(client, app, "/twilio/voice/status", {**START, "CallStatus": "ringing"})
    assert response.status_code == 204
    session = db.session.scalar(db.select(CallSession))
    assert session is not None
    assert session.status is CallStatus.COMPLETED
    assert session.duration_seconds == 42


def test_unknown_call_status_is_a_clear_400(app: Flask, client: Any) -> None:
    """A status Twilio never sends is refused with a message, and nothing regresses."""
    response = twilio_post(client, app, "/twilio/voice/status", {**START, "CallStatus": "exploded"})
    assert response.status_code == 400
    assert b"exploded" in response.data


def test_redis_down_at_callback_time_is_enqueued_later_by_the_sweep(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    redis_conn: Redis,
) -> None:
    """With Redis unreachable the recording stays pending; the sweep enqueues it afterwards."""
    app.extensions["redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        result = simulator.call(
            survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url
        ).run(RECORD_SURVEY)
    finally:
        app.extensions["redis"] = redis_conn
    assert result.errors == []
    rec = db.session.scalar(db.select(Recording))
    assert rec is not None and rec.enqueued_at is None and rec.media_ready
    assert worker.queued() == 0
    assert recordings.sweep() == 1
    assert recordings.sweep() == 0  # already has a live job
    worker.run()
    db.session.expire_all()
    assert rec.local_path is not None


def test_exception_on_a_voice_route_gives_apologetic_twiml(app: Flask, client: Any) -> None:
    """If the survey cannot run, the caller hears an apology, never an application error."""
    survey = db.session.scalar(db.select(Survey))
    assert survey is not None
    survey.active_version = None
    db.session.commit()
    response = twilio_post(client, app, "/twilio/voice/survey", START)
    assert response.status_code == 200
    assert b"something went wrong on our side" in response.data
    assert b"<Hangup />" in response.data


def test_fallback_url_apologises_and_logs_the_error(app: Flask, client: Any) -> None:
    """Twilio's fallback request is answered with TwiML and leaves a timeline event."""
    response = twilio_post(
        client,
        app,
        "/twilio/voice/fallback",
        {**START, "ErrorCode": "11200", "ErrorUrl": "https://x/survey"},
    )
    assert response.status_code == 200
    assert b"<Say>" in response.data
    event = db.session.scalar(db.select(Event).where(Event.kind == "call.fallback"))
    assert event is not None and event.data["error_code"] == "11200"
