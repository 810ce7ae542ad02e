"""A PostgreSQL turn whose write was committed but whose reply never reached the web
process (the connection lost just after) is run once more on a new connection
(``core.prepared.run``): the caller hears the next question, and nothing is written twice."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from flask import Flask

from core.db import db, held_connections
from core.models import Answer, CallSession
from tests.conftest import COMPANY_NUMBER, CUSTOMER, twilio_post

START = {"CallSid": "CA" + "7" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}


def test_a_committed_answer_whose_reply_was_lost_is_stored_once(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if held_connections() is None:
        pytest.skip("a server connection to lose")
    assert "Gather" in twilio_post(client, app, "/twilio/voice/survey", START).text
    real, lost = psycopg.Cursor.execute, []

    def execute(cursor: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(cursor, sql, *args, **kwargs)
        if "UPDATE call_sessions" in str(sql) and not lost:  # the answer's write
            lost.append(sql)
            cursor.connection.close()  # committed (autocommit); its reply never read
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return result

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    path = "/twilio/voice/survey?step=q&try=1&n=0"
    reply = twilio_post(client, app, path, {**START, "Digits": "9"})
    assert len(lost) == 1
    assert reply.status_code == 200 and "How satisfied" in reply.text
    assert [a.value for a in db.session.query(Answer)] == [9]
    assert db.session.query(CallSession).one().step == "q"
