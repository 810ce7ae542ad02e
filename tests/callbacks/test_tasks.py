"""Evaluating finished surveys: one task per contact, merged reasons, priority only up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from callbacks import evaluation
from callbacks.models import CallbackTask, Priority, TaskState
from core.config import load_config
from core.db import db, utcnow
from core.models import Contact, Event
from tests.callbacks.conftest import CUSTOMER, add_comment, make_session, reload_task
from tests.factories import demo_survey

ANXIOUS = "I'm really worried, I'll lose my flat if the rent payment bounces again."


def tasks() -> list[CallbackTask]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(CallbackTask).order_by(CallbackTask.id)))


def test_low_nps_opens_one_task_with_its_reason(app: Flask) -> None:
    """NPS 3 opens a normal-priority task to the caller's number, due within the SLA."""
    session = make_session(nps=3, csat=4)
    task = evaluation.evaluate_session(session.id)
    assert task is not None
    assert task.phone == CUSTOMER and task.state is TaskState.OPEN
    assert task.reasons == [{"code": "low_nps", "detail": "NPS 3 (≤ 6)", "session_id": session.id}]
    assert task.priority == Priority.NORMAL
    assert task.timezone == "America/Los_Angeles"


def test_happy_caller_gets_no_task(app: Flask) -> None:
    """NPS 9 and CSAT 5 open nothing."""
    session = make_session(nps=9, csat=5, resolved=1)
    assert evaluation.evaluate_session(session.id) is None
    assert tasks() == []


def test_evaluating_twice_changes_nothing(app: Flask) -> None:
    """The same session evaluated again (duplicate hook, retried job) adds no reason."""
    session = make_session(nps=2)
    first = evaluation.evaluate_session(session.id)
    second = evaluation.evaluate_session(session.id)
    assert first is not None and second is not None and first.id == second.id
    assert len(tasks()) == 1 and len(tasks()[0].reasons) == 1


def test_second_survey_merges_into_the_open_task(app: Flask) -> None:
    """A later low CSAT from the same contact joins the open task instead of a new one."""
    first = make_session(nps=4)
    evaluation.evaluate_session(first.id)
    second = make_session(csat=1, wants_callback=True)
    evaluation.evaluate_session(second.id)
    [task] = tasks()
    assert [r["code"] for r in task.reasons] == ["low_nps", "callback_requested", "low_csat"]
    assert task.priority == Priority.HIGH


def test_comment_analysis_upgrades_the_task_to_urgent(app: Flask, any_time: None) -> None:
    """After the comment is analysed, distress makes the keypad task urgent with 10 min SLA."""
    session = make_session(nps=5)
    task = evaluation.evaluate_session(session.id)
    assert task is not None
    standard_due = task.due_at
    add_comment(session, ANXIOUS)
    task = evaluation.evaluate_session(session.id)
    assert task is not None
    assert task.priority == Priority.URGENT
    assert task.reason_codes[0] == "low_nps" and "distress" in task.reason_codes
    assert task.due_at < standard_due
    assert task.due_at <= utcnow() + timedelta(minutes=10)


def test_urgent_deadline_comes_from_config(
    app: Flask, any_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """URGENT_SLA_MINUTES=5 gives a new distress task a 5-minute deadline (not the version's)."""
    config = load_config({"URGENT_SLA_MINUTES": "5"})
    monkeypatch.setitem(app.config, "URGENT_SLA_MINUTES", config["URGENT_SLA_MINUTES"])
    version = demo_survey().active_version
    assert version is not None
    version.rules = {**version.rules, "urgent_sla_minutes": 10}  # as versions used to store
    db.session.commit()
    task = evaluation.evaluate_session(make_session(comment=ANXIOUS).id)
    assert task is not None and task.priority == Priority.URGENT
    assert task.due_at - task.scheduled_for == timedelta(minutes=5)


def test_priority_never_goes_down(app: Flask) -> None:
    """A mild later survey leaves an urgent task urgent and its deadline unchanged."""
    urgent = make_session(nps=5, comment=ANXIOUS)
    task = evaluation.evaluate_session(urgent.id)
    assert task is not None
    due = task.due_at
    mild = make_session(nps=6)
    task = evaluation.evaluate_session(mild.id)
    assert task is not None and task.priority == Priority.URGENT and task.due_at == due


def test_closed_task_lets_a_new_one_open(app: Flask) -> None:
    """Once a task is closed, the contact's next low score opens a fresh task."""
    first = make_session(nps=1)
    task = evaluation.evaluate_session(first.id)
    assert task is not None
    task.state, task.closed_at = TaskState.CLOSED, utcnow()
    db.session.commit()
    second = make_session(nps=2)
    fresh = evaluation.evaluate_session(second.id)
    assert fresh is not None and fresh.id != task.id


def test_opted_out_caller_gets_no_task(app: Flask) -> None:
    """A caller who pressed 9 after a low score is never put in the queue."""
    session = make_session(nps=1, opted_out=True)
    assert evaluation.evaluate_session(session.id) is None
    assert tasks() == []


def test_callback_request_in_the_opt_out_call_is_honoured_once(app: Flask) -> None:
    """Opting out of surveys but asking for a call in the same call keeps that callback."""
    session = make_session(nps=1, opted_out=True, wants_callback=True)
    task = evaluation.evaluate_session(session.id)
    assert task is not None and task.reason_codes == ["callback_requested"]
    assert task.consent_at is not None


def test_spoken_opt_out_closes_a_waiting_task(app: Flask) -> None:
    """ "Stop calling me" in the comment closes the keypad task before anyone dials."""
    session = make_session(nps=2)
    task = evaluation.evaluate_session(session.id)
    assert task is not None
    add_comment(session, "Stop calling me, take me off your list.")
    assert evaluation.evaluate_session(session.id) is None
    task = reload_task(task.id)
    assert task.state is TaskState.CLOSED and task.outcome == "opted_out"


def test_transferred_caller_is_not_called_back_for_pressing_zero(app: Flask) -> None:
    """A caller who reached a person live has no press-0 reason left."""
    session = make_session(nps=8, asked_for_human=True, transferred=True)
    assert evaluation.evaluate_session(session.id) is None


def test_do_not_call_contact_gets_no_task(app: Flask) -> None:
    """A number on the do-not-call list is never queued, even with a request."""
    session = make_session(wants_callback=True)
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == CUSTOMER))
    assert contact is not None
    contact.do_not_call_at = utcnow()
    db.session.commit()
    assert evaluation.evaluate_session(session.id) is None


def test_other_callback_number_and_its_time_zone_are_used(app: Flask) -> None:
    """A New York number given in the call is dialled and its zone sets the hours."""
    session = make_session(wants_callback=True, callback_number="+12125550199")
    task = evaluation.evaluate_session(session.id)
    assert task is not None
    assert task.phone == "+12125550199" and task.timezone == "America/New_York"


def test_survey_at_ten_to_nine_is_scheduled_for_eight_next_morning(app: Flask) -> None:
    """20:50 in Los Angeles before DST starts -> due from 08:00 PDT the next day."""
    la = ZoneInfo("America/Los_Angeles")
    ended = datetime(2026, 3, 7, 20, 50, tzinfo=la)
    session = make_session(nps=2, ended_at=ended)
    task = evaluation.evaluate_session(session.id, now=ended + timedelta(seconds=2))
    assert task is not None
    assert task.scheduled_for == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    assert task.scheduled_for.astimezone(la).hour == 8
    assert task.due_at == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)


def test_each_evaluation_is_logged_once_per_phase(app: Flask) -> None:
    """The audit log shows one keypad and one analysis evaluation for the session."""
    session = make_session(nps=2)
    evaluation.evaluate_session(session.id)
    evaluation.evaluate_session(session.id)
    add_comment(session, ANXIOUS)
    evaluation.evaluate_session(session.id)
    phases = db.session.scalars(
        db.select(Event.data).where(Event.kind == "callback.evaluated")
    ).all()
    assert sorted(p["phase"] for p in phases) == ["analysis", "survey"]
