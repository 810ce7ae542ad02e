"""Call status callbacks racing each other and the survey: a later status is never lost,
an ending counts once.

Each test commits a competing callback from another thread at the one moment that lost it
before: after this request read the session, just before its first write (Twilio posts
status callbacks at once and never sends them again).
"""

from __future__ import annotations

from flask import Flask
from pytest import MonkeyPatch

from callbacks import evaluation
from core.db import db
from core.models import CallSession, CallStatus, SurveyOutcome
from ivr import lifecycle, sessions, survey
from ivr.turn import CallInput
from tests.races import committed_before_my_first_write

SID = "CA" + "d" * 32
WRITES = ("SAVEPOINT", "INSERT", "UPDATE")


def callback(value: str, duration: str = "5") -> dict[str, str]:
    return {"CallSid": SID, "CallStatus": value, "CallDuration": duration}


def session_at(status: CallStatus, outcome: SurveyOutcome) -> CallSession:
    session = sessions.ensure_session(SID, "+14155550100", "+14155550199", "outbound-api")
    session.status, session.outcome = status, outcome
    db.session.commit()
    return session


def competing(value: str, duration: str = "5") -> None:
    lifecycle.apply_status(sessions.ensure_session(SID, "", "", ""), callback(value, duration))


def stored() -> CallSession:
    db.session.expire_all()
    row = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == SID))
    assert row is not None
    return row


def test_a_late_ringing_does_not_overwrite_a_completed_committed_meanwhile(app: Flask) -> None:
    """ "ringing" read the call as initiated; "completed" was stored before it wrote: completed."""
    session = session_at(CallStatus.INITIATED, SurveyOutcome.NOT_STARTED)
    with committed_before_my_first_write(app, WRITES, lambda: competing("completed")) as raced:
        moved = lifecycle.apply_status(session, callback("ringing"))
    assert raced.is_set()
    assert moved is False
    row = stored()
    assert row.status is CallStatus.COMPLETED
    assert row.ended_at is not None
    assert session.status is CallStatus.COMPLETED  # the caller's copy says so too


def test_two_endings_at_once_end_the_call_and_tell_the_callback_rules_once(
    app: Flask, monkeypatch: MonkeyPatch
) -> None:
    """ "completed" and "no-answer" both read a call in progress: the first one ends it,
    the survey becomes partial and the callback rules hear of it once."""
    told: list[int] = []
    monkeypatch.setattr(evaluation, "on_survey_finished", told.append)
    session = session_at(CallStatus.IN_PROGRESS, SurveyOutcome.IN_PROGRESS)
    with committed_before_my_first_write(app, WRITES, lambda: competing("completed", "42")):
        moved = lifecycle.apply_status(session, callback("no-answer", "0"))
    assert moved is False
    row = stored()
    assert (row.status, row.outcome, row.duration_seconds) == (
        CallStatus.COMPLETED,
        SurveyOutcome.PARTIAL,
        42,
    )
    assert told == [row.id]


def test_an_answer_does_not_reopen_a_call_that_ended_meanwhile(app: Flask) -> None:
    """ "in-progress" read the call ringing; "busy" was stored before it wrote: busy, never
    answered."""
    session = session_at(CallStatus.RINGING, SurveyOutcome.NOT_STARTED)
    with committed_before_my_first_write(app, WRITES, lambda: competing("busy", "0")):
        lifecycle.apply_status(session, callback("in-progress"))
    row = stored()
    assert (row.status, row.answered_at, row.outcome) == (
        CallStatus.BUSY,
        None,
        SurveyOutcome.NOT_STARTED,
    )


def test_in_order_callbacks_still_move_the_call(app: Flask) -> None:
    """Without a race, answered then completed: answered_at, ended_at and duration kept."""
    session = session_at(CallStatus.RINGING, SurveyOutcome.NOT_STARTED)
    assert lifecycle.apply_status(session, callback("in-progress"))
    answered = stored().answered_at
    assert answered is not None
    assert lifecycle.apply_status(session, callback("completed", "17"))
    assert not lifecycle.apply_status(session, callback("completed", "17"))  # duplicate
    row = stored()
    assert (row.status, row.answered_at, row.duration_seconds) == (
        CallStatus.COMPLETED,
        answered,
        17,
    )
    assert row.ended_at is not None and row.ended_at >= answered


def survey_turn(session: CallSession) -> None:
    survey.handle(CallInput(SID, session.from_number, session.to_number, session.direction))


def test_a_survey_start_does_not_reopen_a_call_that_ended_meanwhile(app: Flask) -> None:
    """The survey's first turn read the call ringing; "completed" was stored before it
    wrote: the call stays completed, its survey not started."""
    session = session_at(CallStatus.RINGING, SurveyOutcome.NOT_STARTED)
    with committed_before_my_first_write(app, WRITES, lambda: competing("completed")) as raced:
        survey_turn(session)
    assert raced.is_set()
    row = stored()
    assert (row.status, row.outcome) == (CallStatus.COMPLETED, SurveyOutcome.NOT_STARTED)
    assert row.ended_at is not None and row.step == "start"


def test_a_survey_start_after_the_answer_callback_marks_the_survey_under_way(
    app: Flask,
) -> None:
    """ "in-progress" came first (answered_at set): the first turn keeps it and starts the
    survey; before it, the turn answers the call itself."""
    session = session_at(CallStatus.RINGING, SurveyOutcome.NOT_STARTED)
    lifecycle.apply_status(session, callback("in-progress"))
    answered = stored().answered_at
    survey_turn(session)
    row = stored()
    assert (row.status, row.outcome, row.answered_at) == (
        CallStatus.IN_PROGRESS,
        SurveyOutcome.IN_PROGRESS,
        answered,
    )
    other = sessions.ensure_session("CA" + "e" * 32, "+14155550100", "+14155550199", "inbound")
    survey.handle(CallInput(other.call_sid, other.from_number, other.to_number))
    db.session.expire_all()
    assert (other.status, other.outcome) == (CallStatus.IN_PROGRESS, SurveyOutcome.IN_PROGRESS)
    assert other.answered_at is not None


def last_turn(session: CallSession) -> None:
    """The caller says no to texts, the survey's last question: the goodbye."""
    args = {"step": "texts"}
    survey.handle(CallInput(SID, session.from_number, session.to_number, digits="2", args=args))


def survey_under_way(monkeypatch: MonkeyPatch) -> tuple[CallSession, list[int]]:
    """A call answered, its survey started (version pinned, contact linked); the callback
    rules' hand-overs are listed instead of run."""
    told: list[int] = []
    monkeypatch.setattr(evaluation, "on_survey_finished", told.append)
    session = session_at(CallStatus.RINGING, SurveyOutcome.NOT_STARTED)
    survey_turn(session)
    assert stored().outcome is SurveyOutcome.IN_PROGRESS
    return session, told


def test_a_hang_up_as_the_survey_ends_tells_the_callback_rules_once(
    app: Flask, monkeypatch: MonkeyPatch
) -> None:
    """The last turn read the survey under way; the caller's hang-up ("completed") was
    stored before it wrote: the hang-up ended the survey (partial) and told the callback
    rules; the turn neither overwrites that nor tells them again."""
    session, told = survey_under_way(monkeypatch)
    with committed_before_my_first_write(app, WRITES, lambda: competing("completed")) as raced:
        last_turn(session)
    assert raced.is_set()
    row = stored()
    assert (row.status, row.outcome, row.step) == (
        CallStatus.COMPLETED,
        SurveyOutcome.PARTIAL,
        "texts",
    )
    assert told == [row.id]


def test_the_same_last_turn_twice_at_once_tells_the_callback_rules_once(
    app: Flask, monkeypatch: MonkeyPatch
) -> None:
    """A repeated goodbye request stored before the first one wrote: completed, told once."""
    session, told = survey_under_way(monkeypatch)

    def again() -> None:
        last_turn(sessions.ensure_session(SID, "", "", ""))

    with committed_before_my_first_write(app, WRITES, again) as raced:
        last_turn(session)
    assert raced.is_set()
    row = stored()
    assert row.outcome is SurveyOutcome.COMPLETED
    assert told == [row.id]


def test_the_call_ending_after_the_survey_does_not_tell_the_callback_rules_again(
    app: Flask, monkeypatch: MonkeyPatch
) -> None:
    """The survey's last turn completed it and told the callback rules; Twilio's
    "completed" afterwards ends the call only."""
    session, told = survey_under_way(monkeypatch)
    last_turn(session)
    assert lifecycle.apply_status(session, callback("completed", "60"))
    row = stored()
    assert (row.status, row.outcome, row.duration_seconds) == (
        CallStatus.COMPLETED,
        SurveyOutcome.COMPLETED,
        60,
    )
    assert told == [row.id]
