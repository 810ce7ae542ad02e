"""Try a survey in the browser: the same TwiML flow as the phone, marked as test data."""

from __future__ import annotations

import io
import json
import pickle
import re
from typing import Any

import pytest
from flask import Flask

from core.db import db
from core.models import CallSession, Contact, Recording, Role
from dashboard import tryit
from ivr import create_app
from simulator.audio import tone_wav, wav_to_mp3
from simulator.fake_state import FakeTwilio
from tests.factories import demo_survey, forget_csrf, login, make_user


def page_token(client: Any, survey_id: int) -> str:
    forget_csrf()
    html = client.get(f"/dashboard/surveys/{survey_id}/try").get_data(as_text=True)
    match = re.search(r'data-csrf="([^"]+)"', html)
    assert match is not None
    return match.group(1)


class Driver:
    """Drives the try-it JSON endpoints like the page's script does."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.survey = demo_survey()
        self.headers = {"X-CSRFToken": page_token(client, self.survey.id)}
        self.call_id = ""

    def start(self) -> dict[str, Any]:
        body = self.client.post(
            f"/dashboard/surveys/{self.survey.id}/try/start", headers=self.headers
        ).get_json()
        self.call_id = body["call_id"]
        return dict(body)

    def do(self, **payload: str) -> Any:
        return self.client.post(
            f"/dashboard/try/{self.call_id}/respond", json=payload, headers=self.headers
        )

    def record(self, audio: bytes, name: str = "c.wav") -> Any:
        return self.client.post(
            f"/dashboard/try/{self.call_id}/record",
            data={"audio": (io.BytesIO(audio), name)},
            headers=self.headers,
            content_type="multipart/form-data",
        )


def session_of(turn: dict[str, Any]) -> CallSession:
    db.session.expire_all()
    session = db.session.get(CallSession, turn["session_id"])
    assert session is not None
    return session


def test_start_plays_greeting_and_first_question(app: Flask, signed_in: Any) -> None:
    """The first turn holds the greeting and the NPS prompt and waits for input."""
    turn = Driver(signed_in).start()
    said = " ".join(turn["said"])
    assert "Thanks for calling us today" in said and "how likely are you to recommend" in said
    assert turn["waiting_for"] == "gather" and not turn["ended"]


def test_try_it_session_is_test_data(app: Flask, signed_in: Any) -> None:
    """The session behind a try-it call is marked is_test from the first turn."""
    turn = Driver(signed_in).start()
    assert session_of(turn).is_test is True


def test_keypad_answers_are_stored_through_the_voice_flow(app: Flask, signed_in: Any) -> None:
    """Keys pressed in the browser become answers exactly as on the phone."""
    d = Driver(signed_in)
    d.start()
    d.do(action="press", digits="3#")
    d.do(action="say", text="four")
    d.do(action="press", digits="2")
    d.do(action="press", digits="2")
    turn = d.do(action="press", digits="2").get_json()
    assert turn["ended"] is True
    assert "Thank you for your feedback" in " ".join(turn["said"])
    session = session_of(turn)
    assert {a.question.key: a.value for a in session.answers} == {
        "nps": 3,
        "csat": 4,
        "resolved": 0,
    }


def test_uploaded_comment_is_recorded(app: Flask, signed_in: Any, fake_twilio: FakeTwilio) -> None:
    """An uploaded MP3 is converted to WAV and becomes the call's recording."""
    d = Driver(signed_in)
    d.start()
    for digits in ("9#", "5", "1", "1"):
        d.do(action="press", digits=digits)
    turn = d.record(wav_to_mp3(tone_wav(1.5)), "comment.mp3").get_json()
    assert "we have your comment" in " ".join(turn["said"])
    rec = db.session.scalar(db.select(Recording).where(Recording.session_id == turn["session_id"]))
    assert rec is not None and rec.recording_sid in fake_twilio.recordings


def test_recording_is_refused_with_real_twilio(app: Flask, signed_in: Any) -> None:
    """Outside local mode the comment step explains it cannot record."""
    d = Driver(signed_in)
    d.start()
    for digits in ("9#", "5", "1", "1"):
        d.do(action="press", digits=digits)
    app.config["LOCAL_MODE"] = False
    try:
        response = d.record(tone_wav(1.0))
    finally:
        app.config["LOCAL_MODE"] = True
    assert response.status_code == 400
    assert "local mode only" in response.get_json()["error"]


def test_bad_audio_is_reported(app: Flask, signed_in: Any) -> None:
    """A file that is not audio gets a readable error, and the call keeps waiting."""
    d = Driver(signed_in)
    d.start()
    for digits in ("9#", "5", "1", "1"):
        d.do(action="press", digits=digits)
    response = d.record(b"this is not audio at all", "notes.txt")
    assert response.status_code == 400
    assert "not audio" in response.get_json()["error"]
    assert d.do(action="silent").get_json()["waiting_for"] == "gather"


def test_another_person_cannot_drive_the_call(app: Flask, signed_in: Any, client: Any) -> None:
    """A call id is only good for the manager who started it."""
    d = Driver(signed_in)
    d.start()
    other = app.test_client()
    login(other, make_user(Role.MANAGER))
    token = page_token(other, d.survey.id)
    response = other.post(
        f"/dashboard/try/{d.call_id}/respond",
        json={"action": "press", "digits": "1"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 404


def test_json_post_without_csrf_header_is_refused(app: Flask, signed_in: Any) -> None:
    """The try-it endpoints need the CSRF token like every form."""
    survey = demo_survey()
    assert signed_in.post(f"/dashboard/surveys/{survey.id}/try/start").status_code == 400


def test_try_caller_is_never_called_back(app: Flask, signed_in: Any) -> None:
    """The fictional try-it number sits on the do-not-call list and is not opted out."""
    Driver(signed_in).start()
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == tryit.TRY_CALLER))
    assert contact is not None
    assert contact.do_not_call_at is not None and contact.opted_out_at is None


def test_opting_out_in_try_it_does_not_block_the_next_try(app: Flask, signed_in: Any) -> None:
    """Pressing 9 in one try does not silence the survey for the next one."""
    d = Driver(signed_in)
    d.start()
    d.do(action="say", text="stop")
    assert "Thanks for calling" in " ".join(Driver(signed_in).start()["said"])


@pytest.mark.parametrize("payload", [{"action": "press", "digits": "12a"}, {"action": "dance"}])
def test_bad_actions_are_refused(app: Flask, signed_in: Any, payload: dict[str, str]) -> None:
    """Unknown actions and keys are a 400 with a message."""
    d = Driver(signed_in)
    d.start()
    response = d.do(**payload)
    assert response.status_code == 400 and response.get_json()["error"]


def test_expired_calls_are_hung_up_and_forgotten(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call idle longer than the TTL is hung up (its session ends) and then unknown."""
    d = Driver(signed_in)
    turn = d.start()
    monkeypatch.setattr(tryit, "TTL_SECONDS", -1)
    assert d.do(action="press", digits="1#").status_code == 404
    assert session_of(turn).status.value == "completed"


def test_call_continues_on_another_web_worker(app: Flask, signed_in: Any, redis_conn: Any) -> None:
    """A turn served by a second app instance (another gunicorn worker) carries on the call."""
    d = Driver(signed_in)
    d.start()
    other = create_app(dict(app.config))
    other.extensions["redis"] = redis_conn
    browser = other.test_client()
    cookie = signed_in.get_cookie("session")
    assert cookie is not None
    browser.set_cookie("session", cookie.value)
    response = browser.post(
        f"/dashboard/try/{d.call_id}/respond",
        json={"action": "press", "digits": "9#"},
        headers=d.headers,
    )
    assert "How satisfied" in " ".join(response.get_json()["said"])


def test_tampered_state_is_not_loaded(app: Flask, signed_in: Any, redis_conn: Any) -> None:
    """Call state edited in Redis fails its signature and is treated as ended."""
    d = Driver(signed_in)
    d.start()
    key = tryit.STATE_KEY.format(d.call_id)
    raw = redis_conn.get(key)
    redis_conn.set(key, raw[:-1] + bytes([raw[-1] ^ 1]))
    assert d.do(action="press", digits="9#").status_code == 404


def test_call_state_is_stored_as_json_without_webhook_bodies(
    app: Flask, signed_in: Any, redis_conn: Any
) -> None:
    """Redis holds the simulator's public call state as signed JSON, minus the request log."""
    d = Driver(signed_in)
    turn = d.start()
    raw = redis_conn.get(tryit.STATE_KEY.format(d.call_id))
    data = json.loads(raw[32:])
    assert data["session_id"] == turn["session_id"]
    assert data["call"]["setup"]["from_"] == tryit.TRY_CALLER
    assert data["call"]["waiting_verb"] is not None and data["call"]["requests"] == []


def test_state_of_another_format_is_an_unknown_call(
    app: Flask, signed_in: Any, redis_conn: Any
) -> None:
    """Signed state that is not a call state (an older release's pickle) is a 404, not a 500."""
    d = Driver(signed_in)
    d.start()
    payload = pickle.dumps({"call": {}})
    redis_conn.set(tryit.STATE_KEY.format(d.call_id), tryit._sign(payload) + payload)
    assert d.do(action="press", digits="9#").status_code == 404


def test_low_scores_in_try_it_open_no_callback_task(
    app: Flask, signed_in: Any, worker: Any
) -> None:
    """A manager testing a bad score does not put a task in the agents' queue."""
    from callbacks import models

    d = Driver(signed_in)
    d.start()
    for digits in ("0#", "1", "2", "2", "1", "1", "1"):
        d.do(action="press", digits=digits)
    worker.run()
    assert db.session.scalar(db.select(db.func.count(models.CallbackTask.id))) == 0
