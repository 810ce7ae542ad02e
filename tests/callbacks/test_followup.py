"""Follow-up after a callback: "Did we put it right? 1 to 5", on a controlled clock.

The domain reads the time through ``utcnow`` in ``callbacks.followup``, ``callbacks.actions``
and ``texts.inbound``; the tests set it (``tests.callbacks.followups``). Scheduled RQ jobs are
due by the real clock (the controlled dates are in the past), so ``run_due_jobs`` runs them at
once and the job decides with the controlled time, as a real worker would at that moment.
Calls and texts go through the fake Twilio; the customer answers the follow-up call with the
caller simulator's script.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq.registry import ScheduledJobRegistry

from callbacks import actions, followup
from callbacks.models import (
    AttemptStatus,
    CallbackAttempt,
    FollowUp,
    FollowUpStatus,
    Priority,
    TaskState,
)
from core import contacts, queues
from core.db import db
from core.models import Event, Role, User
from dashboard import trends
from simulator.actions import Press, Speak
from simulator.caller import CallerSimulator
from simulator.fake_state import Callee, FakeTwilio
from tests.callbacks.conftest import AUTH, CUSTOMER, make_task, reload_task
from tests.callbacks.followups import (  # noqa: F401 - clock_fixture, hours_fixture: fixtures
    LA,
    LATE,
    MORNING,
    Clock,
    allow_texts,
    clock_fixture,
    customer_calls,
    hours_fixture,
    reached_task,
    run_due_jobs,
    texts_to_customer,
    the_follow_up,
)
from tests.conftest import COMPANY_NUMBER, Worker
from tests.factories import make_user
from workers import jobs

# --- end to end -------------------------------------------------------------------------------


def call_back_for_real(
    client: Any,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
    agent: User,
) -> int:
    """A low survey by phone, then the agent's click-to-call bridged to the customer."""
    simulator.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url).run(
        [Press("3#"), Press("2"), Press("2"), Press("2"), Press("2")]
    )
    [item] = client.get("/api/callbacks?status=open", headers=AUTH).get_json()["callbacks"]
    task_url = f"/api/callbacks/{item['id']}"
    assert (
        client.post(f"{task_url}/claim", json={"agent_id": agent.id}, headers=AUTH).status_code
        < 300
    )
    assert (
        client.post(f"{task_url}/call", json={"agent_id": agent.id}, headers=AUTH).status_code < 300
    )
    worker.run()
    fake_twilio.wait_for_calls()
    return int(item["id"])


def test_resolved_callback_is_asked_by_phone_after_the_delay_inside_calling_hours(
    app: Flask,
    client: Any,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
    agent: User,
    any_time: None,
    clock: Clock,
    redis_conn: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resolved at 21:30: asked 24 h later is after hours, so the call rings at 08:00 after."""
    task_id = call_back_for_real(
        client, simulator, survey_url, status_url, worker, fake_twilio, agent
    )
    monkeypatch.setitem(app.config, "CALLING_HOURS", "08:00-21:00")
    calls_before = len(customer_calls(fake_twilio))
    clock.set(LATE)
    outcome = client.post(
        f"/api/callbacks/{task_id}/outcome",
        json={"agent_id": agent.id, "outcome": "resolved"},
        headers=AUTH,
    )
    assert outcome.get_json()["state"] == "closed"
    due = datetime(2025, 6, 12, 8, 0, tzinfo=LA)
    follow_up = the_follow_up(task_id)
    assert follow_up.due_at == due and follow_up.status is FollowUpStatus.SCHEDULED
    registry = ScheduledJobRegistry(queues.DEFAULT, connection=redis_conn)
    assert registry.get_scheduled_time(followup.job_id(follow_up)) == due.astimezone(UTC)

    fake_twilio.script_for(CUSTOMER, [Press("5")])
    clock.set(LATE + timedelta(hours=24))  # the delay is over, but it is 21:30 there
    run_due_jobs(redis_conn)
    assert len(customer_calls(fake_twilio)) == calls_before
    assert the_follow_up(task_id).status is FollowUpStatus.SCHEDULED

    clock.set(due + timedelta(seconds=20))
    run_due_jobs(redis_conn)
    calls = customer_calls(fake_twilio)
    assert len(calls) == calls_before + 1 and calls[-1].status == "completed"
    follow_up = the_follow_up(task_id)
    assert follow_up.status is FollowUpStatus.ANSWERED
    assert (follow_up.score, follow_up.channel, follow_up.sid) == (5, "voice", calls[-1].sid)
    assert reload_task(task_id).state is TaskState.CLOSED


def test_a_customer_who_allowed_texts_is_asked_by_text(
    app: Flask, agent: User, clock: Clock, hours: None, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """Permission to text: the question goes as a text (the fake's Messages list), no call."""
    allow_texts()
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    clock.set(MORNING + timedelta(hours=24, seconds=5))
    run_due_jobs(redis_conn)
    [text] = texts_to_customer(fake_twilio)
    assert followup.QUESTION in text.body and text.from_ == COMPANY_NUMBER
    assert customer_calls(fake_twilio) == []
    follow_up = the_follow_up(task.id)
    assert (follow_up.status, follow_up.channel, follow_up.sid) == (
        FollowUpStatus.SENT,
        "sms",
        text.sid,
    )


def test_reply_five_counts_as_recovered_on_the_dashboard(
    app: Flask, agent: User, clock: Clock, hours: None, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """Pressing 5 on the follow-up call: the trends count one recovered callback, by agent."""
    manager = make_user(Role.MANAGER, email="boss@example.com")
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    fake_twilio.script_for(CUSTOMER, [Press("5")])
    clock.set(MORNING + timedelta(days=1, minutes=1))
    run_due_jobs(redis_conn)
    customer_calls(fake_twilio)
    result = trends.compute(manager, trends.TrendFilters.from_args({}))
    assert (result.total.replies, result.total.recovered, result.total.recovery_rate) == (
        1,
        1,
        100.0,
    )
    [by_agent] = result.by_agent
    assert by_agent.label == agent.email and by_agent.recovered == 1


def test_reply_two_reopens_the_task_for_a_supervisor(
    app: Flask,
    client: Any,
    agent: User,
    clock: Clock,
    hours: None,
    redis_conn: Redis,
    fake_twilio: FakeTwilio,
) -> None:
    """Saying "two" on the follow-up call: the task is reopened, high priority, in the queue."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    fake_twilio.script_for(CUSTOMER, [Speak("two, it's still broken")])
    clock.set(MORNING + timedelta(days=1, minutes=1))
    run_due_jobs(redis_conn)
    customer_calls(fake_twilio)
    assert the_follow_up(task.id).score == 2
    task = reload_task(task.id)
    assert task.state is TaskState.REOPENED and task.closed_at is None
    assert task.priority == Priority.HIGH and task.claimed_by_id is None
    assert task.reason_codes[-1] == "follow_up_low"
    [item] = client.get("/api/callbacks?status=open", headers=AUTH).get_json()["callbacks"]
    assert item["id"] == task.id and item["state"] == "reopened"
    kinds = db.session.scalars(db.select(Event.kind).order_by(Event.id)).all()
    assert {"callback.follow_up_answered", "callback.reopened"} <= set(kinds)


def test_delay_zero_asks_at_once(
    app: Flask,
    agent: User,
    clock: Clock,
    hours: None,
    redis_conn: Redis,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FOLLOW_UP_DELAY_HOURS=0 inside calling hours: the call rings as soon as the job runs."""
    monkeypatch.setitem(app.config, "FOLLOW_UP_DELAY_HOURS", 0)
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    assert the_follow_up(task.id).due_at == MORNING
    fake_twilio.script_for(CUSTOMER, [Press("4")])
    run_due_jobs(redis_conn)
    assert len(customer_calls(fake_twilio)) == 1
    assert the_follow_up(task.id).score == 4


def test_duplicate_jobs_and_the_sweep_send_one_follow_up(
    app: Flask, agent: User, clock: Clock, hours: None, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """The job twice, a re-enqueue and the sweep: one call, one follow-up."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    follow_up = the_follow_up(task.id)
    followup.enqueue(follow_up)  # a duplicate enqueue is the same job
    clock.set(MORNING + timedelta(days=1, minutes=5))
    fake_twilio.script_for(CUSTOMER, Callee(answer="no-answer"))
    assert jobs.send_follow_up(task.id) == "voice"
    assert jobs.send_follow_up(task.id) in ("sent", "sending", "unanswered")
    run_due_jobs(redis_conn)
    assert jobs.sweep_follow_ups() == 0
    assert len(customer_calls(fake_twilio)) == 1
    assert db.session.scalar(db.select(db.func.count(FollowUp.id))) == 1


# --- when there is no follow-up, or it is not sent ---------------------------------------


def test_no_follow_up_when_the_customer_was_never_reached(app: Flask, agent: User) -> None:
    """Resolved without a call that reached the customer: nothing is asked."""
    task = make_task()
    actions.claim(task.id, agent)
    actions.record_outcome(task.id, agent, "resolved")
    assert followup.for_task(task.id) is None


def test_no_follow_up_when_the_only_answer_was_voicemail(app: Flask, agent: User) -> None:
    """The call that connected reached voicemail; the next one rang out; "follow-up needed":
    the customer was never reached, so nobody asks them whether we put it right."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "voicemail")
    actions.claim(task.id, agent)
    db.session.add(
        CallbackAttempt(
            task_id=task.id,
            agent_id=agent.id,
            status=AttemptStatus.NO_ANSWER,
            to_number=task.phone,
            agent_number="+14155550100",
            counted=True,
        )
    )
    task.state = TaskState.NO_ANSWER
    db.session.commit()
    actions.record_outcome(task.id, agent, "follow_up")
    assert followup.for_task(task.id) is None


def test_no_follow_up_after_declined(app: Flask, agent: User) -> None:
    """Declined (or wrong number) is not followed up, even though the call connected."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "declined")
    assert followup.for_task(task.id) is None


def test_an_opt_out_before_the_follow_up_skips_it(
    app: Flask, agent: User, clock: Clock, hours: None, fake_twilio: FakeTwilio
) -> None:
    """Opted out overnight: the follow-up is skipped with the reason, nobody is called."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    contacts.opt_out(contacts.find(CUSTOMER), source="test")
    db.session.commit()
    clock.set(MORNING + timedelta(days=1, minutes=1))
    assert jobs.send_follow_up(task.id) == "skipped"
    follow_up = the_follow_up(task.id)
    assert follow_up.status is FollowUpStatus.SKIPPED and "opted_out" in (follow_up.reason or "")
    assert customer_calls(fake_twilio) == []


def test_the_sweep_sends_a_follow_up_whose_job_was_lost(
    app: Flask, agent: User, clock: Clock, hours: None, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """Redis lost the scheduled job: the sweep, a minute after it was due, sends it."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    redis_conn.flushdb()
    fake_twilio.script_for(CUSTOMER, [Press("5")])
    clock.set(MORNING + timedelta(days=1, minutes=2))
    assert jobs.sweep_follow_ups() == 1
    assert len(customer_calls(fake_twilio)) == 1


def test_an_unanswered_follow_up_call_is_noted_and_not_retried(
    app: Flask, agent: User, clock: Clock, hours: None, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """Nobody picks up: the follow-up is "unanswered", and no second call is placed."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    fake_twilio.script_for(CUSTOMER, Callee(answer="no-answer"))
    clock.set(MORNING + timedelta(days=1, minutes=1))
    run_due_jobs(redis_conn)
    customer_calls(fake_twilio)
    assert the_follow_up(task.id).status is FollowUpStatus.UNANSWERED
    assert jobs.sweep_follow_ups() == 0 and len(customer_calls(fake_twilio)) == 1
