"""Bad input at the edges: a clear 4xx (or the apology on a voice route), never a 500, on
SQLite and PostgreSQL alike; a database outage is a short 503 or TwiML; the API's token,
reschedule horizon and published description."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis

from callbacks.models import CallbackAttempt, CallbackTask, TaskState
from core.config import LOCAL_AUTH_TOKEN
from core.db import db, utcnow
from core.models import CallSession, Event, Recording
from core.twiml import APOLOGY
from ivr import create_app
from tests.callbacks.conftest import AUTH, make_agent, make_task, reload_task
from tests.conftest import API_TOKEN, COMPANY_NUMBER, CUSTOMER, sign, twilio_post

CALL_SID = "CA" + "ab" * 16
START = {
    "CallSid": CALL_SID,
    "AccountSid": "AC" + "0" * 32,
    "From": CUSTOMER,
    "To": COMPANY_NUMBER,
    "Direction": "inbound",
    "CallStatus": "in-progress",
}
HUGE = "99999999999999999999"


def says(response: Any) -> list[str]:
    """The words of every <Say> in a TwiML answer (which must be XML)."""
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    return [say.text or "" for say in root.iter("Say")]


def rows(model: Any) -> int:
    db.session.expire_all()
    return len(db.session.scalars(db.select(model)).all())


# --- Twilio webhooks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CallSid", "CA" + "1" * 100),
        ("CallSid", "CA123"),
        ("From", "+1" + "5" * 40),
        ("Direction", "inbound" * 10),
        ("CallDuration", HUGE),
        ("CallDuration", "-5"),
        ("SequenceNumber", HUGE),
        ("AccountSid", "AC" + "z" * 32),
        ("To", "+1415\x00555"),
    ],
)
def test_malformed_status_callback_is_a_400_naming_the_field(
    app: Flask, client: Any, field: str, value: str
) -> None:
    """Values PostgreSQL would refuse are refused first, with the field's name, storing nothing."""
    params = {**START, "CallStatus": "completed", field: value}
    response = twilio_post(client, app, "/twilio/voice/status", params)
    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith(field)
    assert rows(CallSession) == 0 and rows(Event) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("RecordingSid", "RE" + "1" * 80),
        ("RecordingStatus", "completed" * 10),
        ("RecordingDuration", HUGE),
        ("RecordingUrl", "file:///etc/passwd"),
    ],
)
def test_malformed_recording_callback_is_a_400(
    app: Flask, client: Any, field: str, value: str
) -> None:
    """The recording callback checks RecordingSid, status, duration and URL before storing."""
    params = {
        **START,
        "RecordingSid": "RE" + "2" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/RE1",
        "RecordingStatus": "completed",
        "RecordingDuration": "12",
        field: value,
    }
    response = twilio_post(client, app, "/twilio/voice/recording", params)
    assert response.status_code == 400 and field in response.get_data(as_text=True)
    assert rows(Recording) == 0


def test_well_formed_callbacks_are_still_stored(app: Flask, client: Any) -> None:
    """The checks let Twilio's real values through: status and duration land on the session."""
    params = {**START, "CallStatus": "completed", "CallDuration": "0042", "SequenceNumber": "3"}
    assert twilio_post(client, app, "/twilio/voice/status", params).status_code == 204
    session = db.session.scalar(db.select(CallSession))
    assert session is not None and session.duration_seconds == 42


@pytest.mark.parametrize(
    "extra",
    [
        {"Confidence": "abc", "SpeechResult": "nine"},
        {"Confidence": "7.5", "SpeechResult": "nine"},
        {"Confidence": "nan", "SpeechResult": "nine"},
        {"CallSid": ""},
        {"CallSid": "CA" + "f" * 64},
        {"From": "x" * 50},
        {"SpeechResult": "nine\x00"},
    ],
)
def test_malformed_survey_step_gets_the_apology_not_an_application_error(
    app: Flask, client: Any, extra: dict[str, str]
) -> None:
    """A survey step Twilio could not have sent still answers TwiML: the apology, then hang up."""
    response = twilio_post(client, app, "/twilio/voice/survey?step=q&n=0&try=1", START | extra)
    assert response.status_code == 200
    assert says(response) == [APOLOGY]


def test_malformed_step_url_gets_the_apology(app: Flask, client: Any) -> None:
    """An over-long step name or try count never reaches the session row."""
    for query in (f"step={'q' * 40}", f"step=q&n=0&try={HUGE}"):
        response = twilio_post(client, app, f"/twilio/voice/survey?{query}", START)
        assert says(response) == [APOLOGY]
    assert rows(CallSession) == 0


def test_mashed_keys_are_asked_again_not_hung_up_on(app: Flask, client: Any) -> None:
    """Forty digits on the NPS question are no answer: the caller hears the reprompt."""
    twilio_post(client, app, "/twilio/voice/survey", START)
    response = twilio_post(
        client, app, "/twilio/voice/survey?step=q&n=0&try=1", {**START, "Digits": "1" * 40}
    )
    heard = " ".join(says(response))
    assert "didn't catch that" in heard and APOLOGY not in heard


def test_fallback_apologises_even_for_malformed_fields(app: Flask, client: Any) -> None:
    """Twilio's fallback always gets the apology; a good request is noted on the timeline."""
    bad = twilio_post(client, app, "/twilio/voice/fallback", {**START, "ErrorCode": "x" * 900})
    assert says(bad) == [APOLOGY] and rows(Event) == 0
    good = {**START, "ErrorCode": "11200", "ErrorUrl": "https://example.com/twilio/voice/survey"}
    assert says(twilio_post(client, app, "/twilio/voice/fallback", good)) == [APOLOGY]
    kinds = [e.kind for e in db.session.scalars(db.select(Event))]
    assert kinds == ["call.fallback"]


def test_attempt_webhooks_with_ids_past_integer_range(app: Flask, client: Any) -> None:
    """Attempt ids no column can hold: 404 on status callbacks, a spoken goodbye on voice ones."""
    base = f"/twilio/voice/callbacks/attempts/{HUGE}"
    status = {**START, "CallStatus": "ringing"}
    assert twilio_post(client, app, f"{base}/agent-status", status).status_code == 404
    assert twilio_post(client, app, f"{base}/customer-status", status).status_code == 404
    assert "cannot be connected" in " ".join(says(twilio_post(client, app, f"{base}/bridge", {})))
    ended = twilio_post(client, app, f"{base}/dial-ended", {"DialCallStatus": "completed"})
    assert [e.tag for e in ET.fromstring(ended.get_data(as_text=True))] == ["Hangup"]  # noqa: S314


def test_attempt_status_with_unknown_call_status_is_a_400(app: Flask, client: Any) -> None:
    """A CallStatus Twilio never sends is named in a 400, before the attempt is looked up."""
    response = twilio_post(
        client,
        app,
        "/twilio/voice/callbacks/attempts/1/customer-status",
        {"CallStatus": "exploded" * 30},
    )
    assert response.status_code == 400 and "CallStatus" in response.get_data(as_text=True)
    assert rows(CallbackAttempt) == 0


# --- the JSON API ---------------------------------------------------------------------------


def test_task_ids_past_integer_range_are_404(app: Flask, client: Any) -> None:
    """/api/callbacks/<huge id> is 'no such task' in JSON, on GET and on every action."""
    agent = make_agent()
    response = client.get(f"/api/callbacks/{HUGE}", headers=AUTH)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    for action in ("claim", "release", "outcome", "reschedule", "call"):
        response = client.post(
            f"/api/callbacks/{HUGE}/{action}", json={"agent_id": agent.id}, headers=AUTH
        )
        assert response.status_code == 404, action
        assert HUGE in response.get_json()["message"]


def test_unknown_api_path_and_method_answer_json(app: Flask, client: Any) -> None:
    """Errors under /api are JSON too: 404 for a path, 405 for a method."""
    missing = client.get("/api/nothing-here", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    wrong = client.delete("/api/callbacks", headers=AUTH)
    assert wrong.status_code == 405 and wrong.get_json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agent_id": 2**70}, "agent_id"),
        ({"agent_id": True}, "agent_id"),
        ({"agent_id": "1"}, "agent_id"),
        ({"agent_id": 0}, "agent_id"),
        ({"agent_email": ["a@example.com"]}, "agent_email"),
        ({"agent_email": "a" * 300}, "agent_email"),
        ({"agent_id": 1, "agnet": 2}, "agnet"),
        ([1, 2], "object"),
        ({}, "agent_id or agent_email"),
    ],
)
def test_claim_with_a_malformed_agent_is_a_400_and_claims_nothing(
    app: Flask, client: Any, body: Any, field: str
) -> None:
    """{"agent_id": true} is not user 1: refused, naming the field; the task still waits."""
    make_agent()  # user 1 exists, so a bool read as 1 would claim for them
    task = make_task()
    response = client.post(f"/api/callbacks/{task.id}/claim", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request" and field in response.get_json()["message"]
    assert reload_task(task.id).state is TaskState.OPEN


def test_unknown_agent_is_told_apart_from_a_malformed_one(app: Flask, client: Any) -> None:
    """A well-formed id that names nobody is its own error."""
    task = make_task()
    response = client.post(
        f"/api/callbacks/{task.id}/claim", json={"agent_id": 2**31 - 1}, headers=AUTH
    )
    assert response.status_code == 400 and response.get_json()["error"] == "unknown_agent"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": CUSTOMER, "survey": 5}, "survey"),
        ({"to": 14155550123}, "to"),
        ({"to": "+1" * 40}, "to"),
        ({"survey": "post-call"}, "to"),
        ({"to": CUSTOMER, "survey": "x" * 65}, "survey"),
    ],
)
def test_survey_call_with_a_malformed_body_is_a_400(
    app: Flask, client: Any, body: dict[str, Any], field: str
) -> None:
    """{"survey": 5} and friends get a 400 naming the field; nothing is dialled."""
    response = client.post("/api/surveys/calls", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request" and field in response.get_json()["message"]
    assert rows(CallSession) == 0


def test_reschedule_past_the_horizon_is_refused_with_the_reason(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Year 9999 (or a day past RESCHEDULE_MAX_DAYS) is a 400 saying how far ahead is allowed."""
    agent, task = make_agent(), make_task()
    url = f"/api/callbacks/{task.id}/reschedule"

    def reschedule(at: str) -> Any:
        return client.post(url, json={"agent_id": agent.id, "at": at}, headers=AUTH)

    far = reschedule("9999-12-31T23:00:00+00:00")
    assert far.status_code == 400 and far.get_json()["error"] == "too_far_ahead"
    assert "30 days" in far.get_json()["message"]
    monkeypatch.setitem(app.config, "RESCHEDULE_MAX_DAYS", 2)
    assert reschedule((utcnow() + timedelta(days=3)).isoformat()).status_code == 400
    assert reload_task(task.id).state is TaskState.OPEN
    assert reschedule((utcnow() + timedelta(days=1)).isoformat()).status_code == 200
    assert reload_task(task.id).state is TaskState.RETRY_SCHEDULED


def test_retry_at_past_the_horizon_is_refused(app: Flask, client: Any) -> None:
    """An outcome's retry_at obeys the same horizon; the task stays with the agent."""
    agent, task = make_agent(), make_task()
    client.post(f"/api/callbacks/{task.id}/claim", json={"agent_id": agent.id}, headers=AUTH)
    response = client.post(
        f"/api/callbacks/{task.id}/outcome",
        json={"agent_id": agent.id, "outcome": "follow_up", "retry_at": "2999-01-01T10:00:00Z"},
        headers=AUTH,
    )
    assert response.status_code == 400 and response.get_json()["error"] == "too_far_ahead"
    assert reload_task(task.id).state is TaskState.CLAIMED


@pytest.mark.parametrize(
    "at", ["next tuesday", "2030-01-01T10:00:00", "0001-01-01T00:00:00+14:00", ""]
)
def test_reschedule_needs_an_iso_time_with_an_offset(app: Flask, client: Any, at: str) -> None:
    """A time without an offset, or none at all, is a 400 naming "at"."""
    agent, task = make_agent(), make_task()
    response = client.post(
        f"/api/callbacks/{task.id}/reschedule", json={"agent_id": agent.id, "at": at}, headers=AUTH
    )
    assert response.status_code == 400 and "at" in response.get_json()["message"]


@pytest.mark.parametrize(
    "header",
    [API_TOKEN, f"Token {API_TOKEN}", f"Basic {API_TOKEN}", f"Bearer{API_TOKEN}", "Bearer ", ""],
)
def test_only_the_bearer_scheme_is_accepted(app: Flask, client: Any, header: str) -> None:
    """A bare token, another scheme or a missing space is a 401 that names the scheme."""
    response = client.get("/api/callbacks", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Bearer" in response.get_json()["message"]


def test_bearer_scheme_is_case_insensitive(app: Flask, client: Any) -> None:
    """RFC 7235: "bearer" is the same scheme as "Bearer"."""
    response = client.get("/api/callbacks", headers={"Authorization": f"bearer {API_TOKEN}"})
    assert response.status_code == 200


def test_openapi_describes_every_api_route(app: Flask, client: Any) -> None:
    """GET /api/openapi.json is public and lists each /api route with its methods."""
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, item in doc["paths"].items() for method in item}
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.endpoint != "openapi.openapi_json"
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    assert described == served
    reschedule = doc["paths"]["/api/callbacks/{task_id}/reschedule"]["post"]
    schema = reschedule["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["at"] and schema["properties"]["agent_id"]["maximum"] == 2**31 - 1


# --- the database unreachable ---------------------------------------------------------------

UNREACHABLE = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2",
    "sqlite": "sqlite:////nonexistent-directory/for/tests/app.db",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def outage_app(request: pytest.FixtureRequest, base_app: Flask, redis_conn: Redis) -> Flask:
    """The app pointed at a database that cannot be reached (closed port, missing folder)."""
    config = {
        key: base_app.config[key]
        for key in ("TESTING", "INSTANCE_DIR", "API_TOKEN", "SECRET_KEY", "TWILIO_AUTH_TOKEN")
    }
    app = create_app(
        config
        | {
            "SQLALCHEMY_DATABASE_URI": UNREACHABLE[request.param],
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "PUBLIC_BASE_URL": "https://voice.example.com",
        }
    )
    app.extensions["redis"] = redis_conn
    return app


def test_webhooks_answer_twiml_or_a_short_503_when_the_database_is_down(
    outage_app: Flask,
) -> None:
    """Voice routes still speak (the apology); callbacks get a plain 503 Twilio retries."""
    client = outage_app.test_client()
    recording = {
        **START,
        "RecordingSid": "RE" + "3" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/RE3",
        "RecordingStatus": "completed",
    }
    with outage_app.app_context():
        survey = twilio_post(client, outage_app, "/twilio/voice/survey", START)
        fallback = twilio_post(client, outage_app, "/twilio/voice/fallback", START)
        status = twilio_post(client, outage_app, "/twilio/voice/status", START)
        stored = twilio_post(client, outage_app, "/twilio/voice/recording", recording)
        attempts = "/twilio/voice/callbacks/attempts/1"
        bridge = twilio_post(client, outage_app, f"{attempts}/bridge", START)
        ended = twilio_post(client, outage_app, f"{attempts}/dial-ended", START)
        agent = twilio_post(client, outage_app, f"{attempts}/agent-status", START)
        customer = twilio_post(client, outage_app, f"{attempts}/customer-status", START)
        api = client.get("/api/callbacks", headers=AUTH)
    assert says(survey) == [APOLOGY] and says(fallback) == [APOLOGY]
    assert "cannot be connected" in says(bridge)[0]
    assert ended.status_code == 200 and ended.mimetype == "text/xml"
    for response in (status, stored, agent, customer):
        assert response.status_code == 503 and response.mimetype == "text/plain"
        assert response.headers["Retry-After"] == "5"
        text = response.get_data(as_text=True)
        assert "database is unreachable" in text and "Traceback" not in text and len(text) < 100
    assert api.status_code == 503 and api.get_json()["error"] == "unavailable"


def test_signature_is_still_checked_during_an_outage(outage_app: Flask) -> None:
    """A forged request gets 403 whatever the database's state."""
    client = outage_app.test_client()
    url = outage_app.config["PUBLIC_BASE_URL"] + "/twilio/voice/status"
    response = client.post(
        "/twilio/voice/status", data=START, headers=sign(url, START, token=LOCAL_AUTH_TOKEN[::-1])
    )
    assert response.status_code == 403


def test_no_callback_task_is_touched_by_refused_requests(app: Flask, client: Any) -> None:
    """After a run of refused API calls the task has no claimant and no events."""
    task = make_task()
    for body in ({"agent_id": True}, {"agent_id": 2**70}, {"agent_email": 5}):
        client.post(f"/api/callbacks/{task.id}/claim", json=body, headers=AUTH)
    fresh = db.session.get(CallbackTask, task.id)
    assert fresh is not None and fresh.claimed_by_id is None
