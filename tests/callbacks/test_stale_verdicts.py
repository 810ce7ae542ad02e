"""What the callback rules were to be told again, and never heard, is caught up by the sweep.

A turn that stores an answer (or a callback accepted, its number or time) after a hang-up
ended the survey and told the rules tells them again. When that cannot be done (the rules
run as a job and Redis is down), the stored answer must not be lost: the turn's own write
marked the survey, and the minute's sweep judges a marked survey again, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from redis import Redis

from callbacks import evaluation, sweep
from core.db import db, utcnow
from core.models import Event
from tests.callbacks.conftest import make_session
from tests.conftest import CUSTOMER
from tests.test_late_answers import (
    CALL,
    SURVEY,
    answer,
    assert_one_task_for_the_low_answer,
    hang_up,
    hot_path_store_after,
    in_own_context,
    post,
    tasks,
    under_way,
)

LATER = timedelta(minutes=5)  # past the sweep's settling time
OTHER = "+14155550199"


@contextmanager
def redis_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The rules run as a job, and Redis refuses every connection."""
    monkeypatch.setitem(app.config, "CALLBACK_EVALUATE_INLINE", False)
    real = app.extensions["redis"]
    app.extensions["redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        yield
    finally:
        app.extensions["redis"] = real
        monkeypatch.setitem(app.config, "CALLBACK_EVALUATE_INLINE", True)


def late_answer_lost_in_an_outage(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hang-up was judged first (no task: good answers so far); then the last answer,
    "no" (2), was stored, and its turn could not tell the rules again."""
    under_way(app, 2)
    hang_up(app)
    assert tasks() == []
    with redis_down(app, monkeypatch):
        answer(app, 2, "2")
    assert tasks() == []


def test_an_answer_whose_retelling_failed_in_an_outage_opens_its_task_at_the_sweep(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The late "no" lost with Redis down: the next sweep judges the survey again, one task."""
    late_answer_lost_in_an_outage(app, monkeypatch)
    assert sweep.sweep(utcnow() + LATER)["evaluated"] == 1
    assert_one_task_for_the_low_answer("low_resolved")


def test_a_survey_judged_again_by_the_sweep_is_judged_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the sweep caught the late answer up, later sweeps leave the survey alone."""
    late_answer_lost_in_an_outage(app, monkeypatch)
    assert sweep.sweep(utcnow() + LATER)["evaluated"] == 1
    assert sweep.sweep(utcnow() + LATER * 2)["evaluated"] == 0
    assert_one_task_for_the_low_answer("low_resolved")


def test_a_callback_accepted_after_the_verdict_opens_its_task_at_the_sweep(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Good scores judged at the hang-up (no task), then "yes, call me back" stored with
    Redis down: the sweep opens the callback."""
    session_id = under_way(app, 3)
    hang_up(app)
    with redis_down(app, monkeypatch):
        assert post(app, f"{SURVEY}?step=offer&try=1", {**CALL, "Digits": "1"}).status_code == 200
    assert tasks() == []
    assert sweep.sweep(utcnow() + LATER)["evaluated"] == 1
    assert [t.session_id for t in tasks()] == [session_id]


def test_a_number_confirmed_after_the_verdict_reaches_the_task_at_the_sweep(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A low score opened the task at the hang-up; the new callback number, confirmed after
    it with Redis down, reaches the task at the sweep (not the old phone for the agent)."""
    under_way(app, 0)
    answer(app, 0, "2")
    hang_up(app)
    [task] = tasks()
    assert task.phone == CUSTOMER
    with redis_down(app, monkeypatch):
        confirm = f"{SURVEY}?step=confirm&num={quote(OTHER)}"
        assert post(app, confirm, {**CALL, "Digits": "1"}).status_code == 200
    assert sweep.sweep(utcnow() + LATER)["evaluated"] == 1
    assert [t.phone for t in tasks()] == [OTHER]


def test_a_hot_path_answer_whose_retelling_failed_opens_its_task_at_the_sweep(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NPS 2 on the hot path, written just after the hang-up was judged, then Redis went down
    before the turn could tell the rules again: the sweep opens the task."""
    under_way(app, 0)
    with ExitStack() as outage:

        def hang_up_then_outage() -> None:
            in_own_context(app, hang_up)()
            outage.enter_context(redis_down(app, monkeypatch))

        with hot_path_store_after(hang_up_then_outage) as raced:
            assert b"n=1" in answer(app, 0, "2")  # the hot path's reply: the next question
    assert raced.is_set() and tasks() == []
    assert sweep.sweep(utcnow() + LATER)["evaluated"] == 1
    assert_one_task_for_the_low_answer("low_nps")


def test_surveys_judged_as_they_read_are_not_judged_again(app: Flask) -> None:
    """Two callers' surveys, each judged twice with nothing new (the job and the inline
    rules both ran): one verdict each, and the sweep finds nothing to do."""
    sessions = [make_session(nps=2), make_session(phone="+14155550124", nps=9, csat=5)]
    for session in sessions * 2:
        evaluation.evaluate_session(session.id)
    verdicts = db.session.scalars(db.select(Event).where(Event.kind == evaluation.EVALUATED))
    assert len(verdicts.all()) == 2
    assert sweep.sweep(utcnow() + LATER)["evaluated"] == 0
