"""A callback call that ended with no outcome recorded: escalated once after the grace period
(``CALLBACK_OUTCOME_GRACE_MINUTES``), shown as missing on the pages people read, and cleared
when the agent records how the call went."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from callbacks import actions, api, console, escalation, evaluation, links, unrecorded
from callbacks.models import CallbackAttempt, CallbackTask, Priority, TaskState
from callbacks.sweep import sweep
from core.db import db
from core.models import Event, User
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import AUTH, Sink, make_agent, make_task, reload_task
from tests.callbacks.test_escalation import connected_call, hung_up
from tests.callbacks.test_promise import promised_call
from tests.factories import login

GRACE = timedelta(minutes=30)  # the documented default
SUPERVISOR_PHONE = "+14155550177"


@pytest.fixture
def hooked(app: Flask, webhook_sink: Sink, monkeypatch: pytest.MonkeyPatch) -> Sink:
    monkeypatch.setitem(app.config, "ESCALATION_WEBHOOK_URL", webhook_sink.url)
    return webhook_sink


def left_unrecorded(agent: User, task: CallbackTask | None = None) -> tuple[CallbackTask, datetime]:
    """The agent's call reached the customer's phone and ended; no outcome recorded since.
    Returns the task and when the call ended."""
    task = task or make_task()
    connected_call(task, agent)
    hung_up(task)
    task = reload_task(task.id)
    ended = task.attempts[-1].ended_at
    assert ended is not None
    return task, ended


def at(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """The pages and the API read the clock at ``now``."""
    for module in (console, api, links):
        monkeypatch.setattr(module, "utcnow", lambda: now)


def escalations(task: CallbackTask) -> list[Event]:
    rows = db.session.scalars(db.select(Event).where(Event.kind == "callback.escalation"))
    return [e for e in rows if e.data.get("task_id") == task.id]


def test_the_default_grace_period_is_half_an_hour(app: Flask) -> None:
    """Unset, ``CALLBACK_OUTCOME_GRACE_MINUTES`` is 30, as the README says."""
    assert unrecorded.grace() == GRACE


def test_a_call_left_without_an_outcome_is_escalated_after_the_grace_period(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """Nothing before the grace period ends; then supervisors hear that nobody knows whether
    the caller was reached, and the task waits for its outcome, one priority up."""
    task, ended = left_unrecorded(agent)
    assert sweep(ended + GRACE - timedelta(minutes=1))["escalated"] == 0
    assert hooked.received == []
    assert sweep(ended + GRACE + timedelta(minutes=1))["escalated"] == 1
    [message] = hooked.received
    assert message["why"] == "outcome_missing" and message["task_id"] == task.id
    assert message["call_ended_at"] == ended.isoformat()
    assert message["claimed_by"] == agent.email and message["priority"] == "high"
    task = reload_task(task.id)
    assert task.state is TaskState.COMPLETED and task.priority == Priority.HIGH
    assert task.escalated_at is not None


def test_the_supervisors_text_says_the_outcome_is_missing(
    app: Flask, agent: User, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By text: who holds it, how long ago the call ended, and what nobody knows."""
    monkeypatch.setitem(app.config, "ESCALATION_WEBHOOK_URL", "")
    monkeypatch.setitem(app.config, "ESCALATION_SMS_TO", SUPERVISOR_PHONE)
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-24:00")
    task, ended = left_unrecorded(agent)
    sweep(ended + GRACE + timedelta(minutes=5))
    fake_twilio.messages.wait()
    [text] = [m.body for m in fake_twilio.messages.all()]
    assert text == (
        f"Callback {task.id} to {task.phone}: the call ended 35 min ago and {agent.email} has "
        "recorded no outcome, so nobody knows whether the caller was reached (low_nps); "
        "now high."
    )


def test_the_escalation_is_sent_once_whatever_happens_next(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """A second sweep, the outcome recorded late, and sweeps after it: still one message,
    one escalation event, one step up in priority."""
    task, ended = left_unrecorded(agent)
    sweep(ended + GRACE + timedelta(minutes=1))
    sweep(ended + GRACE + timedelta(minutes=2))
    assert unrecorded.escalate_if_missing(task.id, ended + GRACE + timedelta(minutes=3)) is False
    actions.record_outcome(task.id, agent, "resolved", now=ended + GRACE + timedelta(minutes=4))
    sweep(ended + GRACE + timedelta(minutes=5))
    sweep(ended + GRACE * 3)
    assert len(hooked.received) == 1 and len(escalations(task)) == 1
    task = reload_task(task.id)
    assert task.state is TaskState.CLOSED and task.priority == Priority.HIGH


def test_a_late_outcome_that_reached_nobody_before_the_deadline_sends_nothing_more(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """Voicemail, recorded late but before the task's deadline: the retry is scheduled and
    supervisors, already told, hear nothing more."""
    task, ended = left_unrecorded(agent)
    sweep(ended + GRACE + timedelta(minutes=1))
    late = ended + GRACE + timedelta(minutes=2)
    assert late < task.due_at
    actions.record_outcome(task.id, agent, "voicemail", now=late)
    sweep(late + timedelta(minutes=1))
    assert len(hooked.received) == 1
    assert reload_task(task.id).state is TaskState.RETRY_SCHEDULED


def test_an_outcome_recorded_in_time_escalates_nothing(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """Recorded within the grace period: no sweep ever tells anyone."""
    task, ended = left_unrecorded(agent)
    actions.record_outcome(task.id, agent, "follow_up", now=ended + timedelta(minutes=5))
    sweep(ended + GRACE * 2)
    assert hooked.received == [] and escalations(task) == []


def test_the_grace_period_is_read_from_the_setting(
    app: Flask, hooked: Sink, agent: User, any_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 5 minutes, six minutes after the call is late."""
    monkeypatch.setitem(app.config, "CALLBACK_OUTCOME_GRACE_MINUTES", 5)
    _, ended = left_unrecorded(agent)
    assert sweep(ended + timedelta(minutes=4))["escalated"] == 0
    assert sweep(ended + timedelta(minutes=6))["escalated"] == 1


def test_a_task_escalated_before_its_call_is_escalated_again_for_the_missing_outcome(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """It missed its deadline waiting, then an agent called and left no outcome: that is news,
    told once more."""
    opened = links.utcnow() - timedelta(hours=2)
    task = make_task(now=opened, ended_at=opened)
    assert escalation.escalate_if_due(task.id, now=task.due_at + timedelta(minutes=1))
    task, ended = left_unrecorded(agent, reload_task(task.id))
    sweep(ended + GRACE + timedelta(minutes=1))
    sweep(ended + GRACE + timedelta(minutes=2))
    assert [m["why"] for m in hooked.received] == ["sla_missed", "outcome_missing"]


# --- what people see --------------------------------------------------------------------------


def test_the_api_says_the_outcome_is_missing_until_it_is_recorded(
    app: Flask, client: Any, hooked: Sink, agent: User, any_time: None, monkeypatch: Any
) -> None:
    """The JSON names the call's end and the escalation; recording the outcome clears it."""
    task, ended = left_unrecorded(agent)
    at(monkeypatch, ended + GRACE - timedelta(minutes=1))
    early = client.get(f"/api/callbacks/{task.id}", headers=AUTH).get_json()
    assert early["outcome_missing"] is None
    later = ended + GRACE + timedelta(minutes=10)
    sweep(ended + GRACE + timedelta(minutes=1))
    at(monkeypatch, later)
    body = client.get(f"/api/callbacks/{task.id}", headers=AUTH).get_json()
    assert body["state"] == "completed" and body["escalated"] is True
    missing = body["outcome_missing"]
    assert missing["call_ended_at"] == ended.isoformat() and missing["escalated"] is True
    assert missing["says"].startswith("Outcome not recorded: the call ended 40 min ago (at ")
    assert missing["says"].endswith(
        "caller's time) and nobody has said whether the caller was reached. "
        "Supervisors have been told."
    )
    client.post(
        f"/api/callbacks/{task.id}/outcome",
        json={"agent_id": agent.id, "outcome": "resolved"},
        headers=AUTH,
    )
    body = client.get(f"/api/callbacks/{task.id}", headers=AUTH).get_json()
    assert body["outcome_missing"] is None and body["outcome"] == "resolved"


def test_the_task_page_and_the_queue_say_the_outcome_is_missing(
    app: Flask, client: Any, hooked: Sink, agent: User, any_time: None, monkeypatch: Any
) -> None:
    """The agent (and a manager opening the task) read it above the outcome form; the queue
    marks the row; both clear once the outcome is saved."""
    task, ended = left_unrecorded(agent)
    sweep(ended + GRACE + timedelta(minutes=1))
    at(monkeypatch, ended + GRACE + timedelta(minutes=2))
    manager = make_agent("lee@example.com", role=agent.role.MANAGER)
    for person in (agent, manager):
        login(client, person)
        page = client.get(f"/callbacks/{task.id}").get_data(as_text=True)
        assert "Outcome not recorded: the call ended 32 min ago" in page
        assert "Supervisors have been told. Record the outcome below." in page
        assert "outcome missing" in client.get("/callbacks/").get_data(as_text=True)
    actions.record_outcome(task.id, agent, "follow_up")
    login(client, agent)
    assert "Outcome not recorded" not in client.get(f"/callbacks/{task.id}").get_data(as_text=True)
    assert "outcome missing" not in client.get("/callbacks/").get_data(as_text=True)


def test_a_promise_rests_on_the_missing_outcome_until_it_is_recorded(
    app: Flask, client: Any, hooked: Sink, agent: User, any_time: None, monkeypatch: Any
) -> None:
    """A caller told "by …" whose only call has no outcome: the page does not call the
    promise kept outright; once the agent says the call reached them, it is kept."""
    session_id = promised_call(links.utcnow(), links.utcnow())[1]
    opened = evaluation.evaluate_session(session_id)
    assert opened is not None
    task, ended = left_unrecorded(agent, opened)
    at(monkeypatch, ended + GRACE + timedelta(minutes=1))
    login(client, agent)
    page = client.get(f"/callbacks/{task.id}").get_data(as_text=True)
    assert "Promise kept only if the call answered at" in page
    assert "reached the caller: no outcome recorded yet" in page
    assert "Promise kept: reached" not in page
    actions.record_outcome(task.id, agent, "resolved")
    page = client.get(f"/callbacks/{task.id}").get_data(as_text=True)
    assert "Promise kept: reached at" in page and "only if" not in page


def test_voicemail_recorded_late_past_the_deadline_still_tells_of_the_missed_deadline(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """The call, before the deadline, held it back; its outcome, missing past the grace period
    (told), is recorded after the deadline as voicemail: nobody was reached by the deadline,
    and supervisors hear that too, as when the outcome comes in time."""
    opened = links.utcnow() - timedelta(minutes=50)
    task = make_task(now=opened, ended_at=opened)
    due = task.due_at
    task, ended = left_unrecorded(agent, task)
    assert ended < due < ended + GRACE
    assert escalation.escalate_if_due(task.id, now=due + timedelta(minutes=1)) is False
    sweep(ended + GRACE + timedelta(minutes=1))
    recorded = ended + GRACE + timedelta(minutes=5)
    actions.record_outcome(task.id, agent, "voicemail", now=recorded)
    sweep(recorded + timedelta(minutes=1))  # the held-back deadline's escalation, owed
    sweep(recorded + timedelta(minutes=2))
    assert [(m["why"], m["due_at"]) for m in hooked.received] == [
        ("outcome_missing", (ended + GRACE).isoformat()),
        ("sla_missed", due.isoformat()),
    ]


def test_a_call_left_without_an_outcome_for_days_is_shown_not_escalated(
    app: Flask, hooked: Sink, agent: User, any_time: None
) -> None:
    """A call that ended two days ago (before this escalation was deployed, or with the
    sweep down): no late message to supervisors, and no longer read by every sweep; the
    task still says the outcome is missing."""
    task, ended = left_unrecorded(agent)
    days_ago = ended - timedelta(days=2)
    db.session.execute(
        update(CallbackTask).where(CallbackTask.id == task.id).values(updated_at=days_ago)
    )
    db.session.execute(
        update(CallbackAttempt).where(CallbackAttempt.task_id == task.id).values(ended_at=days_ago)
    )
    db.session.commit()
    assert unrecorded.overdue(ended) == []
    assert sweep(ended)["escalated"] == 0 and hooked.received == []
    missing = unrecorded.missing(reload_task(task.id), ended)
    assert missing is not None and missing.ended_at == days_ago and not missing.escalated
