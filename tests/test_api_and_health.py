"""The JSON API, health check and schema migrations."""

from __future__ import annotations

from typing import Any

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from redis import Redis

from core.db import db
from core.models import CallSession, Contact, SurveyOutcome
from simulator.actions import Press, Speak
from simulator.fake_state import FakeTwilio
from tests.conftest import API_TOKEN, clear_tables

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
CALLEE = "+14155550142"


@pytest.fixture
def any_hour(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calling hours all day: these tests ring at once whatever the clock says."""
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-24:00")


def test_api_places_a_survey_call_that_the_callee_answers(
    app: Flask, client: Any, fake_twilio: FakeTwilio, any_hour: None
) -> None:
    """POST /api/surveys/calls rings the number through Twilio and the survey runs."""
    fake_twilio.script_for(
        CALLEE, [Press("10#"), Speak("five"), Press("1"), Press("2"), Press("2")]
    )
    response = client.post(
        "/api/surveys/calls", json={"to": CALLEE, "survey": "post-call"}, headers=AUTH
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["call_sid"].startswith("CA") and body["to"] == CALLEE
    fake_twilio.wait_for_calls()
    db.session.expire_all()
    session = db.session.scalar(
        db.select(CallSession).where(CallSession.call_sid == body["call_sid"])
    )
    assert session is not None
    assert session.direction == "outbound-api"
    assert session.customer_number == CALLEE
    assert {a.question.key: a.value for a in session.answers} == {
        "nps": 10,
        "csat": 5,
        "resolved": 1,
    }
    assert session.outcome is SurveyOutcome.COMPLETED
    assert session.status.value == "completed"


def test_api_call_that_is_not_answered_is_recorded_as_such(
    app: Flask, client: Any, fake_twilio: FakeTwilio, any_hour: None
) -> None:
    """A no-answer outbound call ends with status no-answer and no survey answers."""
    from simulator.fake_state import Callee

    fake_twilio.script_for(CALLEE, Callee(answer="no-answer"))
    response = client.post("/api/surveys/calls", json={"to": CALLEE}, headers=AUTH)
    fake_twilio.wait_for_calls()
    db.session.expire_all()
    session = db.session.scalar(
        db.select(CallSession).where(CallSession.call_sid == response.get_json()["call_sid"])
    )
    assert session is not None and session.status.value == "no-answer"
    assert session.answers == [] and session.outcome is SurveyOutcome.NOT_STARTED


def test_api_requires_the_bearer_token(app: Flask, client: Any) -> None:
    """Without the API token the call is refused and nothing is dialled."""
    response = client.post("/api/surveys/calls", json={"to": CALLEE})
    assert response.status_code == 401
    assert db.session.scalar(db.select(CallSession)) is None


def test_api_rejects_bad_numbers_and_unknown_surveys_clearly(app: Flask, client: Any) -> None:
    """Invalid input gets a 4xx with a reason a developer can act on."""
    bad = client.post("/api/surveys/calls", json={"to": "12"}, headers=AUTH)
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_number"
    unknown = client.post("/api/surveys/calls", json={"to": CALLEE, "survey": "nope"}, headers=AUTH)
    assert unknown.status_code == 404 and "nope" in unknown.get_json()["message"]
    garbage = client.post("/api/surveys/calls", data="not json", headers=AUTH)
    assert garbage.status_code == 400


def test_api_refuses_do_not_call_numbers(app: Flask, client: Any) -> None:
    """A number on the do-not-call list is never dialled for a survey."""
    from core.db import utcnow

    db.session.add(Contact(phone=CALLEE, do_not_call_at=utcnow()))
    db.session.commit()
    response = client.post("/api/surveys/calls", json={"to": CALLEE}, headers=AUTH)
    assert response.status_code == 409 and response.get_json()["error"] == "do_not_call"


def test_healthz_reports_database_and_redis(app: Flask, client: Any, redis_conn: Redis) -> None:
    """200 when both answer; 503 naming Redis when it is unreachable."""
    assert client.get("/healthz").status_code == 200
    app.extensions["redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        response = client.get("/healthz")
    finally:
        app.extensions["redis"] = redis_conn
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("error")
    assert response.get_json()["database"] == "ok"


def test_migrations_match_the_models_and_go_down_and_up(app: Flask) -> None:
    """The Alembic head equals the models, and downgrade/upgrade from empty both work."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
    clear_tables()
    db.session.remove()
    flask_migrate.downgrade(revision="base")
    with db.engine.connect() as conn:
        assert "call_sessions" not in db.inspect(conn).get_table_names()
    flask_migrate.upgrade()
    with db.engine.connect() as conn:
        assert "call_sessions" in db.inspect(conn).get_table_names()


def test_users_create_command_makes_a_person_who_can_sign_in(app: Flask) -> None:
    """`flask users create` with a role and team gives a login that lands on its start page."""
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "lee@example.com",
            "--password",
            "s3cret-pass",
            "--role",
            "manager",
            "--team",
            "Billing",
        ]
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    login = client.get("/login")
    token = login.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": "lee@example.com", "password": "s3cret-pass", "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get("/").headers["Location"].endswith("/dashboard/")
    from core.models import User

    user = db.session.scalar(db.select(User).where(User.email == "lee@example.com"))
    assert user is not None and user.team is not None and user.team.name == "Billing"
    again = runner.invoke(args=["users", "create", "lee@example.com", "--password", "s3cret-pass"])
    assert again.exit_code != 0 and "already exists" in again.output
