"""The public read API other packages use: sessions linked to tasks through their reasons."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import ColumnElement, select

from callbacks import evaluation, links
from callbacks.models import AttemptStatus, CallbackAttempt, CallbackTask
from core.db import db, utcnow
from core.models import CallSession
from tests.callbacks.conftest import AGENT_PHONE, CUSTOMER, make_agent, make_session, make_task


def matching(condition: ColumnElement[bool]) -> set[int]:
    return set(db.session.scalars(select(CallSession.id).where(condition)))


def test_a_merged_session_is_linked_through_the_task_reasons(app: Flask) -> None:
    """A later survey merged into the open task finds that task, as its opener does."""
    first = make_session(nps=3, ended_at=utcnow() - timedelta(hours=1))
    second = make_session(csat=1)
    task = evaluation.evaluate_session(first.id)
    assert task is not None and evaluation.evaluate_session(second.id) == task
    found = links.summaries([first.id, second.id])
    assert {s.task_id for s in found.values()} == {task.id} and set(found) == {first.id, second.id}
    assert [r.code for r in found[second.id].reasons] == ["low_nps", "low_csat"]
    assert matching(links.state_condition("open")) == {first.id, second.id}
    assert task.session_ids == {first.id, second.id}  # the same definition in Python


def test_a_session_with_no_task_matches_none(app: Flask) -> None:
    """``none`` keeps sessions without a task, even when a task has a reason without one."""
    happy = make_session(nps=10, phone="+14155550111")
    task = make_task()
    task.reasons = [*task.reasons, {"code": "manual", "detail": "added by hand"}]
    db.session.commit()
    assert matching(links.state_condition("none")) == {happy.id}
    assert links.summaries([happy.id]) == {}


def test_summaries_take_one_query_for_any_number_of_sessions(
    app: Flask, query_counter: list[str]
) -> None:
    """Two or ten sessions: the same single query."""
    ids = [make_task(phone=f"+1415555{2100 + i}").session_id for i in range(10)]
    query_counter.clear()
    assert len(links.summaries([i for i in ids[:2] if i is not None])) == 2
    few = len(query_counter)
    query_counter.clear()
    assert len(links.summaries([i for i in ids if i is not None])) == 10
    assert len(query_counter) == few == 1


def test_timeline_lists_the_attempts_oldest_first(app: Flask) -> None:
    """The call page's timeline gets every attempt with the agent and outcome."""
    task = make_task()
    ann = make_agent()
    for minutes, status in ((5, AttemptStatus.NO_ANSWER), (40, AttemptStatus.COMPLETED)):
        db.session.add(
            CallbackAttempt(
                task_id=task.id,
                agent_id=ann.id,
                status=status,
                to_number=CUSTOMER,
                agent_number=AGENT_PHONE,
                created_at=task.created_at + timedelta(minutes=minutes),
            )
        )
    db.session.commit()
    assert task.session_id is not None
    summary = links.timeline(task.session_id)
    assert summary is not None and summary.priority == "normal"
    assert [a.status for a in summary.attempts] == ["no_answer", "completed"]
    assert matching(links.agent_condition(ann.id)) == {task.session_id}


def test_erasing_a_caller_scrubs_tasks_and_attempts(app: Flask) -> None:
    """Numbers and notes go; the task stays for the SLA figures."""
    task = make_task()
    task.notes = "Spoke to Jane"
    db.session.add(
        CallbackAttempt(
            task_id=task.id, to_number=CUSTOMER, agent_number=AGENT_PHONE, agent_id=None
        )
    )
    db.session.commit()
    assert task.session_id is not None
    assert links.erase_caller([task.session_id], None) == 1
    db.session.commit()
    db.session.expire_all()
    kept = db.session.get(CallbackTask, task.id)
    assert kept is not None and kept.phone == "erased" and kept.notes is None
    assert {a.to_number for a in kept.attempts} == {"erased"}
