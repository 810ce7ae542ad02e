"""Whether the callback a caller heard promised came in time, where people look: the rule
(``promise.keeping``), the agent's task page and the supervisors' escalation text."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from callbacks import console, escalation, evaluation, promise
from callbacks.models import AttemptStatus, CallbackAttempt, CallbackTask
from core.db import db
from core.models import CallSession, User
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import make_task
from tests.callbacks.test_promise import la, promised_call
from tests.factories import login

SUPERVISOR_PHONE = "+14155550177"


def judged(session_id: int, now: datetime) -> tuple[CallSession, CallbackTask]:
    """The rules run at ``now`` (inline, or a job late after an outage)."""
    task = evaluation.evaluate_session(session_id, now=now)
    assert task is not None
    session = db.session.get(CallSession, session_id)
    assert session is not None
    return session, task


def reached(
    task: CallbackTask,
    at: datetime,
    status: AttemptStatus = AttemptStatus.COMPLETED,
    outcome: str | None = None,
) -> None:
    """A callback attempt whose customer leg answered at ``at`` (or only rang, by status),
    with the outcome the agent recorded for it, if any."""
    answered = at if status in (AttemptStatus.CONNECTED, AttemptStatus.COMPLETED) else None
    db.session.add(
        CallbackAttempt(
            task_id=task.id,
            status=status,
            outcome=outcome,
            to_number=task.phone,
            agent_number="+14155550100",
            created_at=at - timedelta(minutes=1),
            answered_at=answered,
        )
    )
    db.session.commit()
    db.session.refresh(task)


# --- the rule ---------------------------------------------------------------------------


def test_a_call_that_reached_the_caller_by_the_time_heard_keeps_the_promise(app: Flask) -> None:
    """ "By 11 AM", reached at 10:40: kept, whenever it is read."""
    session, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    reached(task, la(10, 40))
    keeping = promise.keeping(session, task.attempts, la(15))
    assert keeping is not None
    assert (keeping.said, keeping.kept) == ("by 11 AM today", True)
    assert keeping.verdict == "Promise kept: reached at 10:40 AM"


def test_a_ring_nobody_answered_keeps_nothing(app: Flask) -> None:
    """Rung at 10:30 with no answer, reached at 1:05 PM: missed by 2 h 5 min."""
    session, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    reached(task, la(10, 30), AttemptStatus.NO_ANSWER)
    reached(task, la(13, 5))
    keeping = promise.keeping(session, task.attempts, la(15))
    assert keeping is not None and keeping.kept is False
    assert keeping.verdict == "Promise missed by 2 h 5 min: reached at 1:05 PM"


def test_a_message_left_on_voicemail_keeps_nothing(app: Flask) -> None:
    """Voicemail picked up at 10:40 (the task retries it as unreached), the caller answered
    at 1:05 PM: "by 11 AM" was missed by 2 h 5 min, not kept at 10:40."""
    session, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    reached(task, la(10, 40), outcome="voicemail")
    early = promise.keeping(session, task.attempts, la(10, 50))
    assert early is not None and early.kept is None and early.verdict == ""
    reached(task, la(13, 5), outcome="resolved")
    keeping = promise.keeping(session, task.attempts, la(15))
    assert keeping is not None and keeping.kept is False
    assert keeping.verdict == "Promise missed by 2 h 5 min: reached at 1:05 PM"


def test_a_call_from_before_the_promise_does_not_keep_it(app: Flask) -> None:
    """A low score's task reached at 9:30; then a call promises "by 11 AM" and merges in: the
    9:30 call was not the one promised, so by noon the promise is missed."""
    earlier = make_task(now=la(9, 1), nps=2, ended_at=la(9))
    reached(earlier, la(9, 30))
    session, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    assert task.id == earlier.id
    keeping = promise.keeping(session, task.attempts, la(12))
    assert keeping is not None and keeping.reached_at is None and keeping.kept is False
    assert keeping.verdict == "Promise missed: not reached by then"


def test_before_the_deadline_with_nobody_reached_it_is_still_to_come(app: Flask) -> None:
    """At 10:50, "by 11 AM" and nobody reached yet: neither kept nor missed."""
    session, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    keeping = promise.keeping(session, task.attempts, la(10, 50))
    assert keeping is not None and keeping.kept is None and keeping.verdict == ""


def test_a_call_without_a_promise_has_nothing_to_keep(app: Flask) -> None:
    """A low score (nothing said about when): no promise to show."""
    task = make_task(now=la(10, 3), nps=2, ended_at=la(10, 2))
    assert task.session is not None
    assert promise.keeping(task.session, task.attempts, la(12)) is None


@pytest.mark.parametrize(
    ("late", "words"),
    [
        (timedelta(minutes=40), "40 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=2, minutes=5, seconds=59), "2 h 5 min"),
        (timedelta(days=1, hours=3, minutes=1), "1 day 3 h"),
    ],
)
def test_how_late_is_said_to_the_minute(late: timedelta, words: str) -> None:
    """Lateness in words a person reads at a glance."""
    assert promise.span(late) == words


# --- the agent's task page ------------------------------------------------------------------


def task_page(client: Any, agent: User, task: CallbackTask) -> str:
    login(client, agent)
    page: str = client.get(f"/callbacks/{task.id}").get_data(as_text=True)
    return page


def test_the_task_page_tells_the_agent_what_the_caller_was_told(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 10:30: "Promised to the caller: by 11 AM today", nothing missed yet."""
    _, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    monkeypatch.setattr(console, "utcnow", lambda: la(10, 30))
    page = task_page(client, agent, task)
    assert "Promised to the caller:</strong> by 11 AM today (customer time)" in page
    assert "Promise missed" not in page


def test_the_task_page_says_the_promise_was_missed(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judged at 11 PM after an outage, "by 9 PM" was missed before anyone could call."""
    _, task = judged(promised_call(la(19, 59, 50), la(20))[1], la(23))
    monkeypatch.setattr(console, "utcnow", lambda: la(23, 5))
    page = task_page(client, agent, task)
    assert "Promised to the caller:</strong> by 9 PM today (customer time)" in page
    assert "Promise missed: not reached by then" in page


# --- the supervisors' escalation text ---------------------------------------------------------


@pytest.fixture
def texted(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Supervisors told by text only."""
    monkeypatch.setitem(app.config, "ESCALATION_WEBHOOK_URL", "")
    monkeypatch.setitem(app.config, "ESCALATION_SMS_TO", SUPERVISOR_PHONE)


def escalation_text(fake_twilio: FakeTwilio, task: CallbackTask, now: datetime) -> str:
    assert escalation.escalate_if_due(task.id, now=now)
    fake_twilio.messages.wait()
    [message] = fake_twilio.messages.all()
    body: str = message.body
    return body


def test_the_escalation_says_the_promise_was_missed(
    app: Flask, fake_twilio: FakeTwilio, texted: None
) -> None:
    """ "By 9 PM", judged at 11 PM: the text says the caller's promise was broken."""
    _, task = judged(promised_call(la(19, 59, 50), la(20))[1], la(23))
    body = escalation_text(fake_twilio, task, la(23))
    assert body.endswith("Promise missed: the caller was told by 9 PM today (their time).")


def test_an_escalation_before_the_time_heard_names_it_without_a_miss(
    app: Flask, fake_twilio: FakeTwilio, texted: None
) -> None:
    """Due 8:59:50 PM, escalated at 8:59:55: the caller still waits for "by 9 PM"."""
    _, task = judged(promised_call(la(19, 59, 50), la(20))[1], la(20, 0, 30))
    body = escalation_text(fake_twilio, task, la(20, 59, 55))
    assert body.endswith("; now urgent. The caller was told by 9 PM today (their time).")
    assert "Promise missed" not in body


# --- a task merged from two calls, each with its promise --------------------------------------


def promised_twice() -> CallbackTask:
    """At 10 AM the caller is told "tomorrow between 8 AM and 9 AM"; at 11 AM, calling again,
    "by 12 PM today": one task, due at noon."""
    _, first = judged(promised_call(la(10), la(10, 2), preference="tomorrow")[1], la(10, 3))
    _, task = judged(promised_call(la(11), la(11, 2))[1], la(11, 3))
    assert task.id == first.id
    return task


def test_the_task_page_shows_the_promise_heard_last(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reached at 1 PM: "by 12 PM today", said last, was missed; tomorrow's window, said
    first, is not the one the caller waits on (it is listed with every promise below)."""
    task = promised_twice()
    reached(task, la(13))
    monkeypatch.setattr(console, "utcnow", lambda: la(13, 5))
    page = task_page(client, agent, task)
    assert "Promised to the caller:</strong> by 12 PM today (customer time)" in page
    assert "Promise missed by 1 h: reached at 1 PM" in page
    assert "Promise kept" not in page and "Promised to the caller:</strong> tomorrow" not in page


def test_the_escalation_of_a_merged_task_says_its_last_promise_was_missed(
    app: Flask, fake_twilio: FakeTwilio, texted: None
) -> None:
    """Escalated at 12:10 PM with nobody reached: "by 12 PM today", heard last, has passed."""
    body = escalation_text(fake_twilio, promised_twice(), la(12, 10))
    assert body.endswith("Promise missed: the caller was told by 12 PM today (their time).")


def test_the_escalation_of_a_merged_task_says_an_earlier_promise_was_missed(
    app: Flask, fake_twilio: FakeTwilio, texted: None
) -> None:
    """ "By 11 AM today" passed with nobody reached; at 11:30, calling again, the caller is
    told "tomorrow between 8 AM and 9 AM": escalated at 11:40, the text says a promise was
    missed (the one in force, said last, was not)."""
    _, first = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    later = promised_call(la(11, 30), la(11, 32), preference="tomorrow")[1]
    _, task = judged(later, la(11, 33))
    assert task.id == first.id
    body = escalation_text(fake_twilio, task, la(11, 40))
    assert body.endswith(
        "Promise missed: the caller was told by 11 AM today, "
        "then tomorrow between 8 AM and 9 AM (their time)."
    )


def test_a_promise_replaced_before_its_time_is_not_called_missed(
    app: Flask, fake_twilio: FakeTwilio, texted: None
) -> None:
    """ "Tomorrow between 8 AM and 9 AM", then "by 12 PM today" an hour later: the
    first was replaced, not missed, and at noon the second is still to come."""
    body = escalation_text(fake_twilio, promised_twice(), la(12))
    assert body.endswith("The caller was told by 12 PM today (their time).")
    assert "Promise missed" not in body
