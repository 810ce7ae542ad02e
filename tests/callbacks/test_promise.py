"""The callback a caller heard promised is the one the task keeps: timed from the moment it
was said, never from the end of the call or from when the evaluation ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from callbacks import evaluation, promise, sweep
from callbacks.models import CallbackTask, Priority, TaskState
from core.db import db
from core.models import CallSession, Event
from ivr import person
from tests.callbacks.conftest import make_session, make_task, reload_task
from tests.conftest import COMPANY_NUMBER, CUSTOMER, Worker, twilio_post
from tests.test_edges import says

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
        session.callback_promised_from = session.callback_promised_by = None
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


# --- what was said is kept: later settings never move the task past it -----------------

# An operator's edit between the promise and the task being opened.
LONGER_SLA = {"STANDARD_SLA_MINUTES": 240}
SHORTER_HOURS = {"CALLING_HOURS": "08:00-20:00"}


def missed_promises(session_id: int) -> list[dict[str, Any]]:
    return [
        e.data
        for e in db.session.scalars(
            db.select(Event)
            .where(Event.kind == "callback.promise_missed")
            .where(Event.session_id == session_id)
        )
    ]


@pytest.mark.parametrize(
    ("said", "heard", "edit"),
    [
        (la(10), "by 11 AM today", LONGER_SLA),  # recomputed: by 2 PM
        (la(19, 30), "by 8:30 PM today", SHORTER_HOURS),  # recomputed: tomorrow 9 AM
    ],
)
def test_settings_changed_after_the_promise_never_move_the_task_past_it(
    app: Flask, monkeypatch: pytest.MonkeyPatch, said: datetime, heard: str, edit: dict[str, Any]
) -> None:
    """Promised, then the SLA or the calling hours edited, then the call ends and the task
    opens: it is due by what the caller heard, worked out when it was said."""
    words, session_id = promised_call(said, said + timedelta(minutes=2))
    assert words == heard
    for key, value in edit.items():
        monkeypatch.setitem(app.config, key, value)
    task = evaluation.evaluate_session(session_id, now=said + timedelta(minutes=3))
    assert task is not None
    assert (task.scheduled_for, task.due_at) == (said, said + timedelta(hours=1))
    assert missed_promises(session_id) == []


def test_a_repeated_when_turn_says_the_same_time_after_the_sla_changed(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio sends the "when" webhook again after the SLA was raised: the caller hears the
    time they heard the first time, and that is the one kept."""
    monkeypatch.setattr(person, "utcnow", lambda: la(10))
    params = {"CallSid": "CA" + "7" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}
    twilio_post(client, app, "/twilio/voice/survey?step=start", params)
    when = {**params, "Digits": "1"}
    heard = "Someone from our team will call you back by 11 AM today."
    assert heard in says(twilio_post(client, app, "/twilio/voice/survey?step=when", when))
    monkeypatch.setitem(app.config, "STANDARD_SLA_MINUTES", 240)
    monkeypatch.setattr(person, "utcnow", lambda: la(10, 0, 30))
    assert heard in says(twilio_post(client, app, "/twilio/voice/survey?step=when", when))
    db.session.expire_all()
    session = db.session.scalar(
        db.select(CallSession).where(CallSession.call_sid == params["CallSid"])
    )
    assert session is not None
    assert (session.callback_promised_from, session.callback_promised_by) == (la(10), la(11))


def test_a_when_turn_with_another_choice_is_the_promise_heard_and_kept(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller pressed 1 (as soon as possible), then 3 (tomorrow) when the "when" turn came
    again: they hear tomorrow's window, and the session and the task keep that one."""
    params = {"CallSid": "CA" + "8" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}
    for step, digits in (("start", ""), ("offer", "1"), ("number", "1")):
        twilio_post(client, app, f"/twilio/voice/survey?step={step}", {**params, "Digits": digits})
    monkeypatch.setattr(person, "utcnow", lambda: la(10))
    when = "/twilio/voice/survey?step=when"
    first = says(twilio_post(client, app, when, {**params, "Digits": "1"}))
    assert "Someone from our team will call you back by 11 AM today." in first
    monkeypatch.setattr(person, "utcnow", lambda: la(10, 0, 30))
    again = says(twilio_post(client, app, when, {**params, "Digits": "3"}))
    assert "Someone from our team will call you back tomorrow between 8 AM and 9 AM." in again
    db.session.expire_all()
    session = db.session.scalar(
        db.select(CallSession).where(CallSession.call_sid == params["CallSid"])
    )
    assert session is not None and session.callback_preference == "tomorrow"
    tomorrow = (la(8, day=3), la(9, day=3))
    assert (session.callback_promised_from, session.callback_promised_by) == tomorrow
    task = evaluation.evaluate_session(session.id, now=la(10, 1))
    assert task is not None and (task.scheduled_for, task.due_at) == tomorrow


def test_a_task_opened_after_the_promised_time_is_due_then_and_escalates_at_once(
    app: Flask, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "By 9 PM", the SLA raised, and the evaluation job only runs at 23:00 after an outage:
    the task is due at 20:59:50 (overdue, not tomorrow), the minute's sweep escalates it,
    and the missed promise is on record once."""
    monkeypatch.setitem(app.config, "CALLBACK_EVALUATE_INLINE", False)
    said = la(19, 59, 50)
    words, session_id = promised_call(said, said + timedelta(seconds=20))
    assert words == "by 9 PM today"
    monkeypatch.setitem(app.config, "STANDARD_SLA_MINUTES", 240)
    monkeypatch.setattr(evaluation, "utcnow", lambda: la(23))
    evaluation.on_survey_finished(session_id)
    worker.run()
    task = db.session.scalar(db.select(CallbackTask).where(CallbackTask.session_id == session_id))
    assert task is not None
    assert task.scheduled_for == said and task.due_at == said + timedelta(hours=1)
    assert sweep.sweep(now=la(23))["escalated"] == 1
    task = reload_task(task.id)
    assert task.state is TaskState.ESCALATED and task.priority == Priority.URGENT
    late = {"promised_by": la(21).isoformat(), "judged_at": la(23).isoformat(), "minutes_late": 120}
    assert missed_promises(session_id) == [late]
    assert evaluation.evaluate_session(session_id, now=la(23, 30)) is not None
    assert missed_promises(session_id) == [late]


def test_a_task_opened_in_time_is_no_missed_promise_when_judged_again_later(app: Flask) -> None:
    """Opened before the deadline, judged again after it (the comment read late): no miss."""
    said = la(10)
    _, session_id = promised_call(said, la(10, 2))
    assert evaluation.evaluate_session(session_id, now=la(10, 3)) is not None
    assert evaluation.evaluate_session(session_id, now=la(12)) is not None
    assert missed_promises(session_id) == []


def test_a_promise_kept_before_the_window_was_stored_keeps_working(app: Flask) -> None:
    """A session from before the window was kept (only the moment, as the migration leaves
    it): capped by the promise worked out from the moment, and said the same way."""
    said = la(19, 59, 50)
    session = make_session(asked_for_human=True, preference="now", ended_at=la(20, 0, 10))
    session.callback_promised_at = said
    db.session.commit()
    assert promise.promised(session) == (said, la(21))
    task = evaluation.evaluate_session(session.id, now=la(20, 1))
    assert task is not None
    assert (task.scheduled_for, task.due_at) == (said, said + timedelta(hours=1))
    assert person.callback_promise(session, now=la(20, 0, 30)) == "by 9 PM today"
    assert session.callback_promised_at == said


def test_a_time_chosen_after_the_hang_up_opened_the_task_is_the_one_kept(app: Flask) -> None:
    """The caller accepted a callback, pressed 3 for tomorrow and hung up at once; the
    hang-up opened the task (no time chosen yet, due within the hour) before the "when" turn
    was stored. Told again by that turn, the task takes the time the caller heard."""
    session = make_session(wants_callback=True, ended_at=la(10))
    first = evaluation.evaluate_session(session.id, now=la(10, 0, 5))
    assert first is not None and first.preference is None and first.due_at <= la(11)
    session.callback_preference = "tomorrow"
    assert person.callback_promise(session, now=la(10, 0, 10)) == "tomorrow between 8 AM and 9 AM"
    db.session.commit()
    task = evaluation.evaluate_session(session.id, now=la(10, 0, 15))
    assert task is not None and task.id == first.id
    task = reload_task(task.id)
    assert task.preference == "tomorrow"
    assert (task.scheduled_for, task.due_at) == (la(8, day=3), la(9, day=3))
    assert merged_events(task) == 1
