"""The hot path's new session and a status callback for the same CallSid: one row, the
status kept, the survey in the state the call's life says.

The start's INSERT reads nothing first, so a callback committed before it is simply one
that came first; the tight window is the other way, the start's row committed between
the callback's look for the session and its own INSERT of it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from pytest import MonkeyPatch

from core.db import db
from core.models import CallSession, CallStatus, SurveyOutcome
from ivr import hot_path
from tests.conftest import COMPANY_NUMBER, CUSTOMER, twilio_post
from tests.races import committed_before_my_first_write

SID = "CA" + "a" * 32
START = {"CallSid": SID, "From": CUSTOMER, "To": COMPANY_NUMBER, "CallStatus": "in-progress"}


def known_caller(app: Flask, client: Any) -> None:
    """The caller took a survey before: the hot path serves their next start."""
    twilio_post(client, app, "/twilio/voice/survey", {**START, "CallSid": "CA" + "b" * 32})


def status(client: Any, app: Flask, value: str, duration: str = "0") -> None:
    params = {**START, "CallStatus": value, "CallDuration": duration, "Direction": "inbound"}
    assert twilio_post(client, app, "/twilio/voice/status", params).status_code == 204


def tee(reply: str | None, into: list[str | None]) -> str | None:
    into.append(reply)
    return reply


def the_session() -> CallSession:
    db.session.expire_all()
    rows = db.session.scalars(db.select(CallSession).where(CallSession.call_sid == SID)).all()
    assert len(rows) == 1
    return rows[0]


def test_a_hang_up_reported_before_the_start_leaves_the_survey_not_started(
    app: Flask, client: Any
) -> None:
    """ "completed" came first: the start finds the row, the call stays over and its survey
    not started (not counted as a partial answer)."""
    known_caller(app, client)
    status(client, app, "completed", "3")
    assert b"<Gather" in twilio_post(client, app, "/twilio/voice/survey", START).data
    row = the_session()
    assert (row.status, row.outcome, row.duration_seconds) == (
        CallStatus.COMPLETED,
        SurveyOutcome.NOT_STARTED,
        3,
    )
    assert row.survey_version_id is not None and row.contact is not None


def test_a_start_committed_as_the_callback_creates_the_session_keeps_the_status(
    app: Flask, client: Any, monkeypatch: MonkeyPatch
) -> None:
    """The callback looked for the session and found none; the hot path's start committed
    the row before the callback inserted its own: the callback's "completed" ends that
    row (the survey partial), no second row."""
    known_caller(app, client)
    served: list[str | None] = []
    start_new_call = hot_path.start_new_call
    monkeypatch.setattr(hot_path, "start_new_call", lambda inp: tee(start_new_call(inp), served))

    def start() -> None:
        assert b"<Gather" in twilio_post(app.test_client(), app, "/twilio/voice/survey", START).data

    writes = ("SAVEPOINT", "INSERT", "UPDATE")
    with committed_before_my_first_write(app, writes, start) as raced:
        status(client, app, "completed", "7")
    assert raced.is_set() and served and served[0] is not None  # the hot path's INSERT
    row = the_session()
    assert (row.status, row.outcome, row.duration_seconds, row.step) == (
        CallStatus.COMPLETED,
        SurveyOutcome.PARTIAL,
        7,
        "start",
    )
    assert row.survey_version_id is not None and row.ended_at is not None
