"""Survey calls only when the callee may be called, on a controlled clock.

The API and the job read the time through ``ivr.outbound.utcnow``; the tests set it. The
scheduled RQ job runs on a real worker with its scheduler (due by the real clock, since the
controlled dates are in the past), and the call it places is answered in the fake Twilio.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from redis import Redis
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from core import queues
from core.db import db
from core.models import CallSession, SurveyOutcome
from core.survey_requests import RequestStatus, SurveyRequest
from ivr import outbound
from simulator.actions import Press
from simulator.fake_state import FakeTwilio
from tests.conftest import API_TOKEN, CUSTOMER, Worker

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
LA = ZoneInfo("America/Los_Angeles")  # CUSTOMER is a San Francisco number
# Saturday 23:00; at 02:00 the clocks go forward, so the next 08:00 is PDT (15:00 UTC).
NIGHT = datetime(2025, 3, 8, 23, 0, tzinfo=LA)
OPENING = datetime(2025, 3, 9, 8, 0, tzinfo=LA)
SURVEY = [Press("9#"), Press("4"), Press("1"), Press("2"), Press("2")]


@dataclass
class Clock:
    now: datetime

    def set(self, at: datetime) -> None:
        self.now = at.astimezone(UTC)


@pytest.fixture
def clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock(NIGHT.astimezone(UTC))
    monkeypatch.setattr(outbound, "utcnow", lambda: clock.now)
    yield clock


def request_survey(client: Any, to: str = CUSTOMER) -> Any:
    return client.post("/api/surveys/calls", json={"to": to, "survey": "post-call"}, headers=AUTH)


def run_due_jobs(redis_conn: Redis) -> None:
    """What the workers' scheduler does each second, then a burst worker: scheduled jobs
    that are due (by Redis time) are queued and run in this process."""
    for name in queues.ALL:
        queue = queues.get_queue(name, redis_conn)
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_jobs_to_schedule(int(time.time())):
            registry.remove(job_id)
            queue.enqueue_job(Job.fetch(job_id, connection=redis_conn))
    Worker(redis_conn).run()


def survey_calls(fake_twilio: FakeTwilio) -> list[Any]:
    fake_twilio.wait_for_calls()
    return [c for c in fake_twilio.call_list() if c.to == CUSTOMER]


def the_request() -> SurveyRequest:
    db.session.expire_all()
    [request] = db.session.scalars(db.select(SurveyRequest)).all()
    return request


def test_request_at_night_is_scheduled_for_the_next_opening_and_placed_then(
    app: Flask, client: Any, clock: Clock, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """23:00 callee-local → 202 with the next 08:00 (PDT, across the change); rung only then."""
    fake_twilio.script_for(CUSTOMER, SURVEY)
    response = request_survey(client)
    assert response.status_code == 202
    body = response.get_json()
    assert body["scheduled_for"] == "2025-03-09T15:00:00+00:00"
    assert body["status"] == "scheduled" and body["to"] == CUSTOMER
    request = the_request()
    registry = ScheduledJobRegistry(queues.HIGH, connection=redis_conn)
    assert registry.get_scheduled_time(outbound.job_id(request)) == OPENING.astimezone(UTC)

    run_due_jobs(redis_conn)  # a worker that wakes too early (its clock says 23:00)
    assert survey_calls(fake_twilio) == []
    assert the_request().status is RequestStatus.SCHEDULED
    assert the_request().scheduled_for == OPENING

    clock.set(OPENING + timedelta(seconds=20))
    run_due_jobs(redis_conn)
    [call] = survey_calls(fake_twilio)
    request = the_request()
    assert request.status is RequestStatus.PLACED
    session = db.session.get(CallSession, request.session_id)
    assert session is not None and session.call_sid == call.sid
    assert session.outcome is SurveyOutcome.COMPLETED
    assert {a.question.key: a.value for a in session.answers}["nps"] == 9


def test_do_not_call_added_after_scheduling_is_never_dialled(
    app: Flask, client: Any, clock: Clock, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """Scheduled at night, put on do-not-call through the API: at 08:00 nobody is rung."""
    assert request_survey(client).status_code == 202
    assert client.post("/api/dnc", json={"number": CUSTOMER}, headers=AUTH).status_code == 201
    clock.set(OPENING + timedelta(seconds=20))
    run_due_jobs(redis_conn)
    request = the_request()
    assert request.status is RequestStatus.REFUSED
    assert request.reason is not None and request.reason.startswith("do_not_call")
    assert survey_calls(fake_twilio) == []


def test_opt_out_after_scheduling_is_never_dialled(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """An opt-out that lands overnight (another call's 9) stops the morning's survey."""
    from core import suppression

    assert request_survey(client).status_code == 202
    suppression.add(CUSTOMER, "opt_out", "keypad")
    db.session.commit()
    assert outbound.place_scheduled(the_request().id, OPENING.astimezone(UTC)) == "refused"
    assert the_request().reason is not None and "opted_out" in (the_request().reason or "")
    assert survey_calls(fake_twilio) == []


def test_a_second_request_while_one_is_scheduled_is_a_409(
    app: Flask, client: Any, clock: Clock
) -> None:
    """One survey per number: the night's second request is refused with the time kept."""
    assert request_survey(client).status_code == 202
    again = request_survey(client)
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"] == "survey_already_scheduled"
    assert "2025-03-09T15:00:00+00:00" in body["message"]


def test_a_second_survey_within_the_cap_is_a_409_with_the_reason(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """Surveyed at 10:00 → a request the next day is 409 naming SURVEY_MIN_DAYS_BETWEEN."""
    fake_twilio.script_for(CUSTOMER, SURVEY)
    clock.set(datetime.now(LA).replace(hour=10))  # sessions are stamped by the real clock
    assert request_survey(client).status_code == 201
    survey_calls(fake_twilio)
    clock.set(clock.now + timedelta(days=1))
    again = request_survey(client)
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"] == "recently_surveyed"
    assert "7 days apart" in body["message"] and "SURVEY_MIN_DAYS_BETWEEN" in body["message"]
    assert len(survey_calls(fake_twilio)) == 1


def test_the_cap_lifts_after_the_set_days(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SURVEY_MIN_DAYS_BETWEEN=2, a survey three days later is rung."""
    monkeypatch.setitem(app.config, "SURVEY_MIN_DAYS_BETWEEN", 2)
    fake_twilio.script_for(CUSTOMER, SURVEY)
    clock.set(datetime.now(LA).replace(hour=10))
    assert request_survey(client).status_code == 201
    survey_calls(fake_twilio)
    clock.set(clock.now + timedelta(days=3))
    assert request_survey(client).status_code == 201
    assert len(survey_calls(fake_twilio)) == 2


def test_a_job_that_runs_after_closing_waits_for_the_next_morning(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """A backlog that delays the job past 21:00 moves it to the next 08:00, not tonight."""
    assert request_survey(client).status_code == 202
    late = datetime(2025, 3, 9, 21, 30, tzinfo=LA)
    assert outbound.place_scheduled(the_request().id, late.astimezone(UTC)) == "rescheduled"
    request = the_request()
    assert request.status is RequestStatus.SCHEDULED
    assert request.scheduled_for == datetime(2025, 3, 10, 8, 0, tzinfo=LA)
    assert survey_calls(fake_twilio) == []


def test_the_sweep_places_a_request_whose_job_was_lost(
    app: Flask, client: Any, clock: Clock, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """Redis lost the scheduled job: the minute sweep rings the callee once, after 08:00."""
    fake_twilio.script_for(CUSTOMER, SURVEY)
    assert request_survey(client).status_code == 202
    redis_conn.flushdb()
    clock.set(OPENING - timedelta(minutes=5))
    assert outbound.sweep() == {"placed": 0, "stale": 0}
    clock.set(OPENING + timedelta(minutes=2))
    assert outbound.sweep() == {"placed": 1, "stale": 0}
    assert outbound.sweep() == {"placed": 0, "stale": 0}
    assert len(survey_calls(fake_twilio)) == 1
    assert the_request().status is RequestStatus.PLACED


def test_a_request_stuck_dialing_is_closed_and_never_rung_twice(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """A job that died between its claim and Twilio's answer: failed after ten minutes."""
    assert request_survey(client).status_code == 202
    request = the_request()
    request.status, request.dialing_at = RequestStatus.DIALING, OPENING.astimezone(UTC)
    db.session.commit()
    clock.set(OPENING + timedelta(minutes=11))
    assert outbound.sweep() == {"placed": 0, "stale": 1}
    assert the_request().status is RequestStatus.FAILED
    assert outbound.place_scheduled(request.id) == "failed"
    assert survey_calls(fake_twilio) == []


def test_a_scheduled_request_is_claimed_once(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """The job and the sweep both running at 08:00 ring the callee once."""
    fake_twilio.script_for(CUSTOMER, SURVEY)
    assert request_survey(client).status_code == 202
    request_id = the_request().id
    clock.set(OPENING + timedelta(minutes=2))
    assert outbound.place_scheduled(request_id) == "placed"
    assert outbound.place_scheduled(request_id) == "placed"
    assert len(survey_calls(fake_twilio)) == 1


def test_erasing_the_caller_drops_their_waiting_survey(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """DELETE /api/contacts/<number> after a 202: no number kept, nobody rung at 08:00."""
    assert request_survey(client).status_code == 202
    request_id = the_request().id
    assert client.delete(f"/api/contacts/{CUSTOMER}", headers=AUTH).status_code == 200
    db.session.expire_all()
    assert db.session.scalars(db.select(SurveyRequest)).all() == []
    assert outbound.place_scheduled(request_id, OPENING.astimezone(UTC)) == "missing"
    assert survey_calls(fake_twilio) == []
