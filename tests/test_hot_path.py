"""The webhook hot path: one commit per survey turn, the version and questions from the cache."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from core.db import db
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


@pytest.fixture
def counted(app: Flask) -> Iterator[Turn]:
    """SQL statements and commits of the request made while the test holds it."""
    turn = Turn()

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        turn.statements.append(sql)

    def commit(conn: Any) -> None:  # real COMMITs only, not savepoint releases
        turn.commits += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    yield turn
    event.remove(db.engine, "commit", commit)
    event.remove(db.engine, "before_cursor_execute", statement)


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
    reply = {**START, "Digits": "9#"}
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
