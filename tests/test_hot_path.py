"""The webhook hot path: one commit per survey turn, the version and questions from the cache,
and the two turns every caller takes (a known caller's start, a plain score) in a few
statements (``ivr.hot_path``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from flask import Flask

from core.db import db
from core.models import Answer, CallSession, CallStatus, SurveyOutcome
from core.write_gate import GatedConnection, GatedCursor
from tests.conftest import COMPANY_NUMBER, CUSTOMER, twilio_post

START = {"CallSid": "CA" + "7" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}


@dataclass
class Turn:
    statements: list[str] = field(default_factory=list)
    commits: int = 0

    def reads(self, table: str) -> list[str]:
        return [
            s
            for s in self.statements
            if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s
        ]


def in_transaction(connection: Any) -> bool:
    if isinstance(connection, GatedConnection):
        return connection.in_transaction
    return bool(connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)


@pytest.fixture
def counted(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Turn:
    """SQL statements and commits of the request made while the test holds it, seen at the
    driver: the hot path runs its statements on DBAPI cursors (``core.prepared``), where
    SQLAlchemy's engine events do not see them. A write on an autocommit connection
    (PostgreSQL's hot path) commits by itself, counted when it changed a row."""
    turn = Turn()
    postgres = db.engine.dialect.name == "postgresql"
    cursor_class = psycopg.Cursor if postgres else GatedCursor
    connection_class = psycopg.Connection if postgres else GatedConnection
    real_execute, real_commit = cursor_class.execute, connection_class.commit

    def execute(cursor: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
        text = str(sql)
        result = real_execute(cursor, sql, *args, **kwargs)
        if text.strip() != ";":  # the pool's ping on PostgreSQL
            turn.statements.append(text)
            autocommit = getattr(cursor.connection, "autocommit", None) is True
            # Not SELECT nor SHOW (the dialect's first look at a new connection, which on
            # the hot path's pool is already in autocommit): those change nothing.
            if autocommit and not text.lstrip().upper().startswith(("SELECT", "SHOW")):
                turn.commits += cursor.rowcount > 0  # a write that changed nothing commits nothing
        return result

    def commit(connection: Any) -> None:  # real COMMITs only, not savepoint releases
        if in_transaction(connection):
            turn.commits += 1
        real_commit(connection)

    monkeypatch.setattr(cursor_class, "execute", execute)
    monkeypatch.setattr(connection_class, "commit", commit)
    return turn


def warm_start(app: Flask, client: Any) -> None:
    twilio_post(client, app, "/twilio/voice/survey", START)


def test_survey_start_commits_once(app: Flask, client: Any, counted: Turn) -> None:
    """Opening the survey (new session, contact, version pinned) is one commit."""
    response = twilio_post(client, app, "/twilio/voice/survey", START)
    assert b"<Gather" in response.data
    assert counted.commits == 1


def test_answer_commits_once_without_reading_the_version(
    app: Flask, client: Any, counted: Turn
) -> None:
    """An answer turn commits once and reads neither the version nor its questions."""
    warm_start(app, client)
    counted.statements.clear()
    counted.commits = 0
    reply = {**START, "Digits": "9"}  # Twilio leaves the finishOnKey out
    response = twilio_post(client, app, "/twilio/voice/survey?step=q&try=1&n=0", reply)
    assert b"<Gather" in response.data
    assert counted.commits == 1
    assert counted.reads("survey_versions") == [] and counted.reads("questions") == []


def test_second_call_reads_no_version_or_questions(app: Flask, client: Any, counted: Turn) -> None:
    """Once a version is cached, another caller's start does not load its questions."""
    warm_start(app, client)
    counted.statements.clear()
    second = {**START, "CallSid": "CA" + "8" * 32}
    twilio_post(client, app, "/twilio/voice/survey", second)
    assert counted.reads("questions") == []


def second_caller_start(app: Flask, client: Any, counted: Turn, sid: str) -> Any:
    """A start from a caller we know (the contact exists), counted from a clean slate."""
    warm_start(app, client)
    counted.statements.clear()
    counted.commits = 0
    return twilio_post(client, app, "/twilio/voice/survey", {**START, "CallSid": sid})


def test_known_callers_start_is_one_insert(app: Flask, client: Any, counted: Turn) -> None:
    """The session inserted whole (version and contact found by the same statement)."""
    sid = "CA" + "8" * 32
    response = second_caller_start(app, client, counted, sid)
    first = twilio_post(client, app, "/twilio/voice/survey", {**START, "CallSid": "CA" + "9" * 32})
    assert b"<Gather" in response.data and response.data == first.data
    session = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == sid))
    assert session is not None and session.survey_version_id is not None
    assert session.contact is not None and session.contact.phone == CUSTOMER
    assert session.status is CallStatus.IN_PROGRESS
    assert session.outcome is SurveyOutcome.IN_PROGRESS
    assert session.answered_at is not None and session.step == "start"


def test_known_callers_start_statements(app: Flask, client: Any, counted: Turn) -> None:
    """One statement (on PostgreSQL committed by itself: no BEGIN or COMMIT round trip)."""
    second_caller_start(app, client, counted, "CA" + "8" * 32)
    assert [s.split()[0] for s in counted.statements] == ["INSERT"]
    assert counted.commits == 1


def test_repeated_start_is_answered_the_same(app: Flask, client: Any, counted: Turn) -> None:
    """Twilio retrying a start gets the same questions and the call keeps one session."""
    sid = "CA" + "8" * 32
    first = second_caller_start(app, client, counted, sid)
    again = twilio_post(client, app, "/twilio/voice/survey", {**START, "CallSid": sid})
    assert again.data == first.data
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(CallSession).where(CallSession.call_sid == sid)
        )
        == 1
    )


def test_score_is_one_read_one_insert_one_update(app: Flask, client: Any, counted: Turn) -> None:
    """A plain score: session read with its contact, answer inserted, step updated, one commit."""
    warm_start(app, client)
    counted.statements.clear()
    counted.commits = 0
    path = "/twilio/voice/survey?step=q&try=1&n=0"
    response = twilio_post(client, app, path, {**START, "Digits": "9"})
    assert b"step=q&amp;try=1&amp;n=1" in response.data  # the second question
    # PostgreSQL: the INSERT inside the UPDATE (WITH), each statement committed by itself.
    writes = ["WITH"] if db.engine.dialect.name == "postgresql" else ["INSERT", "UPDATE"]
    assert [s.split()[0] for s in counted.statements] == ["SELECT", *writes]
    assert counted.commits == 1
    session = db.session.scalar(
        db.select(CallSession).where(CallSession.call_sid == START["CallSid"])
    )
    assert session is not None and session.step == "q"
    # A retried webhook, then a different reply to the same question: the first is kept.
    again = twilio_post(client, app, path, {**START, "Digits": "9"})
    changed = twilio_post(client, app, path, {**START, "Digits": "3"})
    assert again.data == response.data == changed.data
    values = db.session.scalars(db.select(Answer.value)).all()
    assert values == [9]


def test_webhooks_open_no_cookie_session(app: Flask, client: Any) -> None:
    """Twilio sends no cookies: its webhooks are answered without a session cookie."""
    response = twilio_post(client, app, "/twilio/voice/survey", START)
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
