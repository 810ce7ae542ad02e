"""SLA escalation at the due time, on a controlled clock (no sleeping)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq.registry import ScheduledJobRegistry

from callbacks import actions, dialing, escalation, evaluation
from callbacks.models import CallbackTask, Priority, TaskState
from callbacks.sweep import sweep
from core import queues
from core.db import db, utcnow
from core.models import User
from tests.callbacks.conftest import AUTH, Sink, make_task, reload_task
from tests.callbacks.test_promise import la, promised_call
from tests.conftest import Worker

ANXIOUS = "I'm worried sick about this and can't sleep."


@pytest.fixture
def hooked(app: Flask, webhook_sink: Sink, monkeypatch: pytest.MonkeyPatch) -> Sink:
    monkeypatch.setitem(app.config, "ESCALATION_WEBHOOK_URL", webhook_sink.url)
    return webhook_sink


def test_escalation_job_is_scheduled_at_the_due_time(
    app: Flask, redis_conn: Redis, any_time: None
) -> None:
    """Opening a task schedules one RQ job at exactly its deadline."""
    task = make_task(comment=ANXIOUS)
    registry = ScheduledJobRegistry(queues.HIGH, connection=redis_conn)
    assert escalation.job_id(task) in registry.get_job_ids()
    assert registry.get_scheduled_time(escalation.job_id(task)) == task.due_at.replace(
        microsecond=0
    )


def test_nothing_happens_before_the_deadline(app: Flask, hooked: Sink, any_time: None) -> None:
    """A second before due, the task is left alone and nobody is told."""
    task = make_task()
    assert escalation.escalate_if_due(task.id, now=task.due_at - timedelta(seconds=1)) is False
    assert reload_task(task.id).state is TaskState.OPEN and hooked.received == []


def test_missed_deadline_escalates_and_tells_supervisors(
    app: Flask, hooked: Sink, any_time: None
) -> None:
    """At the deadline an unclaimed urgent task becomes critical and the webhook hears of it."""
    task = make_task(comment=ANXIOUS)
    assert escalation.escalate_if_due(task.id, now=task.due_at + timedelta(seconds=1))
    task = reload_task(task.id)
    assert task.state is TaskState.ESCALATED and task.priority == Priority.CRITICAL
    [message] = hooked.received
    assert message["task_id"] == task.id and message["priority"] == "critical"
    assert "distress" in [r["code"] for r in message["reasons"]]


def test_escalation_happens_once_per_deadline(app: Flask, hooked: Sink, any_time: None) -> None:
    """The job and the sweep both firing give one escalation and one notification."""
    task = make_task()
    late = task.due_at + timedelta(minutes=1)
    assert escalation.escalate_if_due(task.id, now=late)
    assert escalation.escalate_if_due(task.id, now=late) is False
    assert sweep(late)["escalated"] == 0
    assert len(hooked.received) == 1
    assert reload_task(task.id).priority == Priority.HIGH


def test_task_connected_in_time_does_not_escalate(
    app: Flask, hooked: Sink, agent: Any, any_time: None
) -> None:
    """A call that connected before the deadline means the job finds nothing to do."""
    task = make_task()
    task.state = TaskState.CONNECTED
    db.session.commit()
    assert escalation.escalate_if_due(task.id, now=task.due_at + timedelta(minutes=5)) is False
    assert hooked.received == []


def test_sweep_escalates_when_the_job_was_lost(
    app: Flask, hooked: Sink, redis_conn: Redis, any_time: None
) -> None:
    """With Redis emptied (job gone) the periodic sweep still escalates the overdue task."""
    task = make_task()
    redis_conn.flushdb()
    assert sweep(task.due_at + timedelta(minutes=2))["escalated"] == 1
    assert reload_task(task.id).escalated_at is not None


def test_escalated_task_shows_in_the_api(
    app: Flask, client: Any, hooked: Sink, any_time: None
) -> None:
    """CRMs see the escalation flag and the raised priority."""
    task = make_task()
    escalation.escalate_if_due(task.id, now=task.due_at + timedelta(seconds=1))
    [item] = client.get("/api/callbacks", headers=AUTH).get_json()["callbacks"]
    assert item["escalated"] is True and item["state"] == "escalated"
    assert item["priority_label"] == "high"


def test_broken_webhook_does_not_undo_the_escalation(
    app: Flask, monkeypatch: pytest.MonkeyPatch, any_time: None
) -> None:
    """An unreachable webhook is logged; the task is still escalated."""
    monkeypatch.setitem(app.config, "ESCALATION_WEBHOOK_URL", "http://127.0.0.1:1/hook")
    task = make_task()
    assert escalation.escalate_if_due(task.id, now=task.due_at + timedelta(seconds=1))
    assert reload_task(task.id).state is TaskState.ESCALATED


def test_released_escalated_task_stays_escalated(
    app: Flask, hooked: Sink, agent: Any, any_time: None
) -> None:
    """Claiming and releasing an escalated task does not hide the escalation."""
    from callbacks import actions

    task = make_task()
    escalation.escalate_if_due(task.id, now=task.due_at + timedelta(seconds=1))
    actions.claim(task.id, agent)
    actions.release(task.id, agent)
    task = reload_task(task.id)
    assert task.state is TaskState.ESCALATED and task.claimed_by_id is None
    assert escalation.escalate_if_due(task.id, now=task.due_at + timedelta(hours=1)) is False


def connected_call(task: CallbackTask, agent: User) -> None:
    """The agent dials the task and the customer's leg answers (a person, or voicemail)."""
    actions.claim(task.id, agent)
    attempt = dialing.start_call(task.id, agent, utcnow())
    dialing.customer_leg_status(attempt, "in-progress", "CA" + "5" * 32, None)
    assert reload_task(task.id).state is TaskState.CONNECTED


def hung_up(task: CallbackTask) -> None:
    attempt = reload_task(task.id).attempts[-1]
    dialing.customer_leg_status(attempt, "completed", None, "40")
    assert reload_task(task.id).state is TaskState.COMPLETED


def voicemail_past_the_deadline(agent: User) -> tuple[CallbackTask, datetime]:
    """A task due an hour ago whose call connected (before it: held back from escalating)
    and found voicemail; the agent records it now. Returns the task and its deadline."""
    ended = utcnow() - timedelta(hours=2)
    task = make_task(now=ended, ended_at=ended)
    due = task.due_at
    connected_call(task, agent)
    assert escalation.escalate_if_due(task.id, now=due + timedelta(minutes=1)) is False
    hung_up(task)
    actions.record_outcome(task.id, agent, "voicemail")
    return task, due


def test_a_deadline_passed_on_a_call_that_found_voicemail_escalates_when_it_is_recorded(
    app: Flask, hooked: Sink, agent: User, worker: Worker, any_time: None
) -> None:
    """Supervisors are told of the deadline the call held back (by the worker), as for a ring
    nobody answered, and the task keeps its retry."""
    task, due = voicemail_past_the_deadline(agent)
    worker.run()
    [message] = hooked.received
    assert message["task_id"] == task.id and message["due_at"] == due.isoformat()
    assert message["priority"] == "high"
    task = reload_task(task.id)
    assert task.state is TaskState.RETRY_SCHEDULED and task.due_at > utcnow()


def test_with_redis_down_a_held_back_deadline_escalates_at_once(
    app: Flask, hooked: Sink, agent: User, redis_conn: Redis, any_time: None
) -> None:
    """No worker to hand it to: the escalation is sent while the outcome is recorded."""
    app.extensions["redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        task, due = voicemail_past_the_deadline(agent)
    finally:
        app.extensions["redis"] = redis_conn
    [message] = hooked.received
    assert message["task_id"] == task.id and message["due_at"] == due.isoformat()


def test_a_call_that_reached_the_caller_past_the_deadline_is_not_escalated(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """Connected before the deadline and recorded after it as needing a follow-up: the caller
    was reached in time, nobody is told."""
    task = make_task()
    connected_call(task, agent)
    hung_up(task)
    actions.record_outcome(task.id, agent, "follow_up", now=task.due_at + timedelta(minutes=3))
    assert hooked.received == []
    assert reload_task(task.id).escalated_at is None


def test_a_retry_after_voicemail_is_due_by_the_promise_the_caller_still_waits_on(
    app: Flask, agent: User, any_time: None
) -> None:
    """ "By 11 AM": the call at 10:15 found voicemail, recorded at 10:20. The retry, half an
    hour later, is due by 11 AM (not an hour after the retry), so the task escalates when
    the promise breaks."""
    task = evaluation.evaluate_session(promised_call(la(10), la(10, 2))[1], now=la(10, 3))
    assert task is not None
    connected_call(task, agent)
    hung_up(task)
    actions.record_outcome(task.id, agent, "voicemail", now=la(10, 20))
    task = reload_task(task.id)
    assert task.state is TaskState.RETRY_SCHEDULED
    assert (task.scheduled_for, task.due_at) == (la(10, 50), la(11))


def test_a_held_back_escalation_lost_after_the_commit_is_sent_by_the_sweep(
    app: Flask, hooked: Sink, agent: User, any_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome committed, then its escalation job never enqueued (the process died, or
    Redis lost it): the next sweep tells supervisors of the deadline the call held back, once."""
    monkeypatch.setattr(escalation, "schedule_held_back", lambda task, deadline: None)
    task, due = voicemail_past_the_deadline(agent)
    sweep(utcnow() + timedelta(minutes=1))
    sweep(utcnow() + timedelta(minutes=2))
    [message] = hooked.received
    assert message["task_id"] == task.id and message["due_at"] == due.isoformat()


def test_a_held_back_deadline_on_the_last_attempt_is_escalated(
    app: Flask,
    hooked: Sink,
    agent: User,
    worker: Worker,
    any_time: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Voicemail on the last attempt allowed, past the deadline the call held back: the task
    gives up, and supervisors still hear of the missed deadline, as for an unanswered ring."""
    monkeypatch.setitem(app.config, "CALLBACK_MAX_ATTEMPTS", 1)
    task, due = voicemail_past_the_deadline(agent)
    worker.run()
    [message] = hooked.received
    assert message["task_id"] == task.id and message["due_at"] == due.isoformat()
    assert reload_task(task.id).state is TaskState.CLOSED


def test_a_retry_after_voicemail_is_due_by_the_promise_before_it_was_rounded_up(
    app: Flask, agent: User, any_time: None
) -> None:
    """Said at 10:02, "by 11:05 AM" (the hour's deadline, 11:02, rounded up to be said): the
    retry after voicemail is due at 11:02, as the task was, not three minutes later."""
    words, session_id = promised_call(la(10, 2), la(10, 4))
    assert words == "by 11:05 AM today"
    task = evaluation.evaluate_session(session_id, now=la(10, 5))
    assert task is not None and task.due_at == la(11, 2)
    connected_call(task, agent)
    hung_up(task)
    actions.record_outcome(task.id, agent, "voicemail", now=la(10, 20))
    assert reload_task(task.id).due_at == la(11, 2)
