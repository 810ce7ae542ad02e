"""The call page says what the caller was promised ("by 4:15 PM", their time) and, once it is
known, whether a callback reached them by then; the trends page counts promises kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from callbacks import evaluation, links
from callbacks.models import AttemptStatus, CallbackTask
from dashboard import trends
from ivr import person
from tests.callbacks.conftest import make_session, make_task
from tests.callbacks.test_promise import la, promised_call
from tests.callbacks.test_promise_shown import judged, reached


def call_page(client: Any, session_id: int, now: datetime, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(links, "utcnow", lambda: now)
    page: str = client.get(f"/dashboard/calls/{session_id}").get_data(as_text=True)
    return page


def test_a_kept_promise_shows_when_the_caller_was_reached(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "By 11 AM", reached at 10:40: promised, and kept."""
    session, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    reached(task, la(10, 40))
    page = call_page(signed_in, session.id, la(15), monkeypatch)
    assert "Promised: by 11 AM today (caller's local time)" in page
    assert "Promise kept: reached at 10:40 AM" in page
    assert "Promise missed" not in page


def test_a_callback_after_the_time_heard_shows_the_promise_missed(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "By 9 PM", judged at 11 PM after an outage, reached at 11:10 PM: missed by 2 h 10 min,
    read the next morning."""
    session, task = judged(promised_call(la(19, 59, 50), la(20))[1], la(23))
    reached(task, la(23, 10))
    page = call_page(signed_in, session.id, la(9, day=3), monkeypatch)
    assert "Promised: by 9 PM on Mon 2 Jun (caller's local time)" in page
    assert "Promise missed by 2 h 10 min: reached at 11:10 PM" in page


def test_nobody_reached_by_the_time_heard_is_a_missed_promise(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rung at 10:30 with no answer, and 11 AM has passed: missed, not reached."""
    session, task = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    reached(task, la(10, 30), AttemptStatus.NO_ANSWER)
    page = call_page(signed_in, session.id, la(11, 5), monkeypatch)
    assert "Promised: by 11 AM today (caller's local time)" in page
    assert "Promise missed: not reached by then" in page


def test_before_the_time_heard_only_the_promise_shows(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 10:30 nobody has called yet, and it is not late: the promise, no verdict."""
    session, _ = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    page = call_page(signed_in, session.id, la(10, 30), monkeypatch)
    assert "Promised: by 11 AM today (caller's local time)" in page
    assert "Promise kept" not in page and "Promise missed" not in page


def test_a_call_with_no_promise_says_nothing_of_one(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A low score opened a task, but nobody was told when to expect a call."""
    task = make_task(now=la(10, 3), nps=2, ended_at=la(10, 2))
    assert task.session_id is not None
    page = call_page(signed_in, task.session_id, la(15), monkeypatch)
    assert "Callback task opened" in page
    assert "Promised:" not in page and "Promise " not in page


def promised_from(phone: str, said: datetime) -> CallbackTask:
    """A caller on their own number (one open task per contact) told at ``said`` when to
    expect the call; the rules run a minute later."""
    session = make_session(phone=phone, asked_for_human=True, preference="now", ended_at=said)
    person.callback_promise(session, now=said)
    task = evaluation.evaluate_session(session.id, now=said + timedelta(minutes=1))
    assert task is not None
    return task


@pytest.mark.parametrize("chunk", [links.CHUNK, 2])
def test_trends_count_the_promises_kept_out_of_those_decided(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """At 10:50: "by 10 AM" reached at 9:30 (kept), "by 10 AM" nobody reached (missed), and
    "by 11:30 AM" still to come (not counted): 50%, 1 of 2; the same read two at a time."""
    monkeypatch.setattr(links, "CHUNK", chunk)
    reached(promised_from("+14155550201", la(9)), la(9, 30))
    promised_from("+14155550202", la(9))
    promised_from("+14155550203", la(10, 30))
    monkeypatch.setattr(trends, "utcnow", lambda: la(10, 50))
    html = signed_in.get("/dashboard/trends?from=2025-06-01&to=2025-06-03").get_data(as_text=True)
    assert 'data-kpi="promises">50.0%<' in html
    assert "1 of 2 promises" in html


def test_more_sessions_than_a_statement_can_bind_are_looked_up_in_chunks(app: Flask) -> None:
    """70,000 sessions (PostgreSQL binds at most 65,535 parameters): the one with a task is
    found, no error."""
    task = make_task(now=la(10, 3), nps=2, ended_at=la(10, 2))
    assert task.session_id is not None
    ids = [task.session_id, *range(10**6, 10**6 + 70_000)]
    assert list(links.summaries(ids)) == [task.session_id]
