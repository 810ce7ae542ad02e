"""The callback a caller heard promised is the one the task keeps: timed from the moment it
was said, never from the end of the call or from when the evaluation ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from callbacks import evaluation, promise
from callbacks.models import CallbackTask, Priority
from core.db import db
from core.models import CallSession, Event
from ivr import person
from tests.callbacks.conftest import make_session, make_task, reload_task
from tests.conftest import Worker

LA = ZoneInfo("America/Los_Angeles")  # the zone of conftest's CUSTOMER


def la(hour: int, minute: int = 0, second: int = 0, day: int = 2) -> datetime:
    return datetime(2025, 6, day, hour, minute, second, tzinfo=LA).astimezone(UTC)  # a Monday


def promised_call(said: datetime, ended: datetime, preference: str = "now") -> tuple[str, int]:
    """A caller who asked for a person, heard the promise at ``said`` and hung up at ``ended``."""
    session = make_session(asked_for_human=True, preference=preference, ended_at=ended)
    words = person.callback_promise(session, now=said)
    db.session.commit()
    return words, session.id


def merged_events(task: CallbackTask) -> int:
    return sum(
        1
        for e in db.session.scalars(db.select(Event).where(Event.kind == "callback.merged"))
        if e.data.get("task_id") == task.id
    )


def test_a_promise_before_eight_pm_is_kept_when_the_call_ends_after(app: Flask) -> None:
    """Said at 19:59:50, hung up at 20:00:10: "by 9 PM today", and the task is due by then,
    not the next morning (an hour's SLA from 20:00:10 would end after calling hours)."""
    said = la(19, 59, 50)
    words, session_id = promised_call(said, said + timedelta(seconds=20))
    assert words == "by 9 PM today"
    task = evaluation.evaluate_session(session_id, now=said + timedelta(seconds=21))
    assert task is not None
    assert task.scheduled_for == said
    assert task.due_at == said + timedelta(hours=1) <= la(21)


def test_a_promise_before_a_five_minute_mark_is_kept_when_the_call_ends_after(
    app: Flask,
) -> None:
    """Said at 10:04:50 ("by 11:05 AM"), hung up at 10:06: the task is due by 11:05."""
    said = la(10, 4, 50)
    words, session_id = promised_call(said, la(10, 6))
    assert words == "by 11:05 AM today"
    task = evaluation.evaluate_session(session_id, now=la(10, 6, 1))
    assert task is not None and task.due_at <= la(11, 5)


@pytest.mark.parametrize("preference", ["now", "later_today", "tomorrow"])
@pytest.mark.parametrize("priority", [Priority.NORMAL, Priority.HIGH, Priority.URGENT])
def test_the_task_is_never_due_after_the_spoken_promise(
    app: Flask, preference: str, priority: Priority
) -> None:
    """Every moment of a day (every 97 s, on both sides of each mark and of the calling
    hours), however long the call goes on and however late the rules run."""
    session = make_session(asked_for_human=True, preference=preference)
    day = la(0)
    for step in range(0, 24 * 3600, 97):
        said = day + timedelta(seconds=step)
        session.callback_promised_at = None
        promise.record(session, said)
        session.ended_at = said + timedelta(seconds=step % 600)
        by = promise.promised(session)[1]
        later = session.ended_at + timedelta(hours=step % 5)
        scheduled_for, due_at = promise.schedule(session, session.contact, priority, later)
        assert due_at <= by, (said, preference, priority)
        assert scheduled_for <= due_at, (said, preference, priority)


def test_the_job_run_hours_later_still_keeps_the_promise(
    app: Flask, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CALLBACK_EVALUATE_INLINE=false and a worker that gets to it at 22:30: due by 9 PM."""
    monkeypatch.setitem(app.config, "CALLBACK_EVALUATE_INLINE", False)
    monkeypatch.setattr(evaluation, "utcnow", lambda: la(22, 30))
    said = la(19, 59, 50)
    words, session_id = promised_call(said, said + timedelta(seconds=20))
    evaluation.on_survey_finished(session_id)
    worker.run()
    task = db.session.scalar(db.select(CallbackTask).where(CallbackTask.session_id == session_id))
    assert words == "by 9 PM today"
    assert task is not None and task.due_at == said + timedelta(hours=1)


def test_said_twice_the_first_promise_stands(app: Flask) -> None:
    """A repeated "when" webhook says the first promise again and keeps its moment."""
    said = la(19, 59, 50)
    session = make_session(asked_for_human=True, preference="now", ended_at=la(20, 1))
    assert person.callback_promise(session, now=said) == "by 9 PM today"
    assert person.callback_promise(session, now=la(20, 0, 30)) == "by 9 PM today"
    assert session.callback_promised_at == said


def test_merged_into_an_open_task_the_earliest_deadline_stands(app: Flask) -> None:
    """An open task due tomorrow (a low score, "call me tomorrow") takes the promise's
    earlier deadline; an open task due sooner than the promise keeps its own."""
    later = make_task(now=la(19), nps=2, ended_at=la(19), preference="tomorrow")
    said = la(19, 59, 50)
    _, session_id = promised_call(said, la(20, 1))
    task = evaluation.evaluate_session(session_id, now=la(20, 2))
    assert task is not None and task.id == later.id
    assert task.due_at == said + timedelta(hours=1)

    sooner = la(20, 10)
    task.due_at = sooner
    db.session.commit()
    _, again = promised_call(la(20, 5), la(20, 6))
    assert evaluation.evaluate_session(again, now=la(20, 7)) is not None
    assert reload_task(task.id).due_at == sooner


def test_a_late_or_repeated_evaluation_changes_nothing_twice(app: Flask) -> None:
    """A status webhook that comes late (a later end of call) or twice: same task, one event."""
    said = la(19, 59, 50)
    _, session_id = promised_call(said, said + timedelta(seconds=20))
    first = evaluation.evaluate_session(session_id, now=la(20, 1))
    assert first is not None
    before: tuple[Any, ...] = (first.scheduled_for, first.due_at, first.priority, first.reasons)
    session = db.session.get(CallSession, session_id)
    assert session is not None
    session.ended_at = la(20, 45)
    db.session.commit()
    for now in (la(20, 46), la(23, 0)):
        task = evaluation.evaluate_session(session_id, now=now)
        assert task is not None and task.id == first.id
        task = reload_task(task.id)
        assert (task.scheduled_for, task.due_at, task.priority, task.reasons) == before
    assert merged_events(first) == 0


def test_a_session_without_a_promise_is_timed_from_the_end_of_the_call(app: Flask) -> None:
    """A low score (no promise said): an hour from the end of the call, as before."""
    ended = la(10, 2)
    task = make_task(now=la(10, 3), nps=2, ended_at=ended)
    assert (task.scheduled_for, task.due_at) == (ended, ended + timedelta(hours=1))


def test_distress_found_after_a_promise_is_timed_from_the_end_of_the_call(app: Flask) -> None:
    """Promised at 10:00 ("by 11 AM"), hung up at 10:08, an anxious comment read at 10:12:
    the urgent task is due ten minutes after the call ended, not ten after the promise (it
    would open already overdue), and still before what the caller heard."""
    words, session_id = promised_call(la(10), la(10, 8))
    assert words == "by 11 AM today"
    session = db.session.get(CallSession, session_id)
    assert session is not None
    start, due = promise.schedule(session, session.contact, Priority.URGENT, now=la(10, 12))
    assert (start, due) == (la(10), la(10, 18))
    assert la(10, 12) < due <= promise.promised(session)[1]
