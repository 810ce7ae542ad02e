"""An answer and the caller's hang-up posted together: whichever is served first, the
callback rules end up seeing the answer, and it opens one callback task.

The caller presses a low score and hangs up at once; Twilio posts the Gather's action and
the "completed" status callback together. When the hang-up ends the survey and tells the
rules before the answer is stored, the turn that stores it tells them again. Each race is
forced: the hang-up is committed (and evaluated) at the one moment that lost the answer
before, after the turn read the session and just before it wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from callbacks import evaluation
from callbacks.models import CallbackTask
from core.db import db
from core.models import Answer, CallSession, CallStatus, Event, SurveyOutcome
from ivr import hot_path
from tests.conftest import COMPANY_NUMBER, CUSTOMER, twilio_post
from tests.races import committed_before_my_first_write

SID = "CA" + "f" * 32
CALL = {"CallSid": SID, "From": CUSTOMER, "To": COMPANY_NUMBER, "CallStatus": "in-progress"}
SURVEY = "/twilio/voice/survey"
WRITES = ("SAVEPOINT", "INSERT", "UPDATE")


def post(app: Flask, path: str, params: dict[str, str]) -> Any:
    return twilio_post(app.test_client(), app, path, params)


def answer(app: Flask, position: int, digits: str) -> bytes:
    params = {**CALL, "Digits": digits}
    response = post(app, f"{SURVEY}?step=q&try=1&n={position}", params)
    assert response.status_code == 200
    return bytes(response.data)


def hang_up(app: Flask) -> None:
    params = {**CALL, "CallStatus": "completed", "CallDuration": "30", "Direction": "inbound"}
    assert post(app, "/twilio/voice/status", params).status_code == 204


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sessions the callback rules were told of, in order (they still run)."""
    calls: list[int] = []
    real = evaluation.on_survey_finished

    def tell(session_id: int) -> None:
        calls.append(session_id)
        real(session_id)

    monkeypatch.setattr(evaluation, "on_survey_finished", tell)
    return calls


def under_way(app: Flask, answered: int) -> int:
    """A call with its survey started and the first ``answered`` questions answered well."""
    assert b"<Gather" in post(app, SURVEY, CALL).data
    for position in range(answered):
        answer(app, position, "9" if position == 0 else "5")
    session = the_session()
    assert session.outcome is SurveyOutcome.IN_PROGRESS
    return session.id


def the_session() -> CallSession:
    db.session.expire_all()
    session = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == SID))
    assert session is not None
    return session


def tasks() -> list[CallbackTask]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(CallbackTask)))


def reasons(task: CallbackTask) -> list[str]:
    return sorted(r["code"] for r in task.reasons)


def created() -> int:
    return len(db.session.scalars(db.select(Event).where(Event.kind == "callback.created")).all())


@contextmanager
def hot_path_store_after(compete: Callable[[], object]) -> Iterator[threading.Event]:
    """Run ``compete`` to its end in another thread after the hot path read the session,
    just before it stores the answer (its statements bypass the engine's events)."""
    done, real = threading.Event(), hot_path._store
    errors: list[BaseException] = []

    def run() -> None:
        try:
            compete()
        except BaseException as exc:  # reported when the block ends
            errors.append(exc)

    def store(*args: Any) -> bool:
        if not done.is_set():
            done.set()
            other = threading.Thread(target=run)
            other.start()
            other.join(30)
        return real(*args)

    hot_path._store = store  # type: ignore[assignment]
    try:
        yield done
    finally:
        hot_path._store = real  # type: ignore[assignment]
    assert errors == []


def in_own_context(app: Flask, work: Callable[[Flask], None]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            work(app)
            db.session.remove()

    return run


def assert_one_task_for_the_low_answer(code: str) -> CallbackTask:
    found = tasks()
    assert len(found) == 1
    assert code in reasons(found[0])
    assert created() == 1
    return found[0]


def test_last_answer_stored_after_the_hang_up_was_evaluated_opens_one_task(
    app: Flask, told: list[int]
) -> None:
    """The last question's "no" (2) read the survey under way; the hang-up ended it and
    was evaluated before the answer was written: the turn tells the rules again, one task."""
    session_id = under_way(app, 2)
    with committed_before_my_first_write(app, WRITES, in_own_context(app, hang_up)) as raced:
        answer(app, 2, "2")
    assert raced.is_set()
    row = the_session()
    assert (row.status, row.outcome) == (CallStatus.COMPLETED, SurveyOutcome.PARTIAL)
    assert_one_task_for_the_low_answer("low_resolved")
    assert told == [session_id, session_id]


def test_last_answer_served_after_the_hang_up_opens_one_task(app: Flask, told: list[int]) -> None:
    """The hang-up was served (and evaluated) before the last turn: the turn finds the
    call over, stores the answer and tells the rules again."""
    session_id = under_way(app, 2)
    hang_up(app)
    assert tasks() == []
    answer(app, 2, "2")
    assert_one_task_for_the_low_answer("low_resolved")
    assert told == [session_id, session_id]


def test_hot_path_answer_stored_after_the_hang_up_was_evaluated_opens_one_task(
    app: Flask, told: list[int]
) -> None:
    """NPS 2 to the first question, on the hot path: it read the survey under way; the
    hang-up ended it and was evaluated before the answer was written: one task."""
    session_id = under_way(app, 0)
    with hot_path_store_after(in_own_context(app, hang_up)) as raced:
        reply = answer(app, 0, "2")
    assert raced.is_set() and b"n=1" in reply  # the hot path's reply: the next question
    values = db.session.scalars(db.select(Answer.value)).all()
    assert values == [2]
    assert_one_task_for_the_low_answer("low_nps")
    assert told == [session_id, session_id]


def test_middle_answer_served_after_the_hang_up_opens_one_task(app: Flask, told: list[int]) -> None:
    """The hang-up came first: the hot path finds the survey over and leaves the answer to
    the full flow, which stores it and tells the rules again."""
    session_id = under_way(app, 0)
    hang_up(app)
    answer(app, 0, "2")
    assert_one_task_for_the_low_answer("low_nps")
    assert told == [session_id, session_id]


def test_answers_then_hang_up_tell_the_rules_once(app: Flask, told: list[int]) -> None:
    """The normal order: the answers are stored, then the hang-up tells the rules once."""
    session_id = under_way(app, 0)
    answer(app, 0, "2")
    answer(app, 1, "5")
    answer(app, 2, "2")
    assert told == []
    hang_up(app)
    assert told == [session_id]
    assert_one_task_for_the_low_answer("low_nps")


def test_evaluating_again_changes_nothing(app: Flask, told: list[int]) -> None:
    """A re-evaluation of the same survey opens no second task and records nothing new."""
    session_id = under_way(app, 0)
    answer(app, 0, "2")
    hang_up(app)
    task = assert_one_task_for_the_low_answer("low_nps")
    events = db.session.scalar(db.select(db.func.count()).select_from(Event))
    queued = len(app.extensions["redis"].keys("*"))
    assert evaluation.evaluate_session(session_id) is not None
    assert [t.id for t in tasks()] == [task.id]
    assert db.session.scalar(db.select(db.func.count()).select_from(Event)) == events
    assert len(app.extensions["redis"].keys("*")) == queued


def test_person_asked_for_after_the_hang_up_was_evaluated_opens_one_task(
    app: Flask, told: list[int]
) -> None:
    """The caller presses * for a person and hangs up at once; the hang-up ended the survey
    and was evaluated before the request was written: the turn tells the rules again."""
    session_id = under_way(app, 0)
    with committed_before_my_first_write(app, WRITES, in_own_context(app, hang_up)) as raced:
        answer(app, 0, "*")
    assert raced.is_set()
    assert the_session().asked_for_human
    found = tasks()
    assert len(found) == 1 and "asked_for_human" in reasons(found[0])
    assert told == [session_id, session_id]


def test_callback_accepted_after_the_hang_up_was_evaluated_opens_one_task(
    app: Flask, told: list[int]
) -> None:
    """All answers fine, then "yes, call me back" (1) pressed as the caller hangs up; the
    hang-up was served and evaluated first (nothing to call about then): the offer's turn
    tells the rules again and the callback the caller asked for is opened."""
    session_id = under_way(app, 3)
    hang_up(app)
    assert tasks() == []
    reply = post(app, f"{SURVEY}?step=offer&try=1", {**CALL, "Digits": "1"})
    assert reply.status_code == 200
    assert the_session().wants_callback
    found = tasks()
    assert len(found) == 1 and "callback_requested" in reasons(found[0])
    assert told == [session_id, session_id]
