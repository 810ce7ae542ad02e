"""Status callbacks racing each other and the sid's arrival: a later status is never lost.

Each test commits a "delivered" callback from another thread at the one moment that lost
it before: after this thread read the row, just before it wrote (the fake Twilio's
delivery thread hit it under load, leaving a delivered text recorded as "sent").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from core import contacts
from core.db import db
from core.models import Event
from tests.conftest import CUSTOMER
from tests.factories import finished_session
from tests.races import committed_before_my_first_write
from texts import outbound, status
from texts.models import Direction, TextMessage

SID = "SM" + "c" * 32
WRITES = ("UPDATE TEXT_MESSAGES", "DELETE FROM TEXT_MESSAGES")


def callback(value: str) -> dict[str, str]:
    return {"MessageSid": SID, "MessageStatus": value, "To": CUSTOMER}


@contextmanager
def delivered_before_my_first_write(app: Flask) -> Iterator[threading.Event]:
    """Commit a "delivered" callback in another thread just before this thread first
    writes to text_messages; the event is set once it did."""
    with committed_before_my_first_write(
        app, WRITES, lambda: status.on_status_callback(callback("delivered"))
    ) as done:
        yield done


def stored_status() -> str:
    db.session.expire_all()
    row = db.session.scalar(db.select(TextMessage).where(TextMessage.sid == SID))
    assert row is not None
    return row.status


def outbound_text(sid: str | None, text_status: str) -> TextMessage:
    message = TextMessage(
        sid=sid,
        direction=Direction.OUTBOUND,
        number=CUSTOMER,
        contact_id=contacts.get_or_create(CUSTOMER).id,
        body="Hello",
        status=text_status,
        purpose="test",
    )
    db.session.add(message)
    db.session.commit()
    return message


def test_a_late_sent_does_not_overwrite_a_delivered_committed_meanwhile(app: Flask) -> None:
    """A "sent" read the text as queued; "delivered" was stored before it wrote: delivered."""
    outbound_text(SID, "queued")
    with delivered_before_my_first_write(app) as raced:
        status.on_status_callback(callback("sent"))
    assert raced.is_set()
    assert stored_status() == "delivered"


def test_a_delivered_stored_while_the_sid_is_attached_is_kept(app: Flask) -> None:
    """Callbacks beat Twilio's answer (a placeholder says "sent"); "delivered" lands on
    the placeholder while send_text folds it into the real text: the text is delivered."""
    message = outbound_text(None, "pending")
    status.on_status_callback(callback("sent"))
    with delivered_before_my_first_write(app) as raced:
        outbound._attach(message, SID, "queued")
    assert raced.is_set()
    assert stored_status() == "delivered"
    assert db.session.scalar(db.select(db.func.count()).select_from(TextMessage)) == 1


def waiting_on_a_lock() -> bool:
    """Whether another session of this test's PostgreSQL database waits for a row lock
    (SQLite: its write gate queues the other writer behind this transaction whatever it is).
    Other databases on the server (other runs) are not counted."""
    if db.engine.dialect.name != "postgresql":
        return True
    with db.engine.connect() as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return bool(conn.exec_driver_sql(query).scalar())


def test_a_delivered_waiting_on_the_folded_placeholder_finds_the_text(app: Flask) -> None:
    """ "delivered" is written while send_text folds the placeholder (its UPDATE waits for
    that commit, then finds the placeholder gone): it lands on the text itself."""
    message = outbound_text(None, "pending")
    status.on_status_callback(callback("sent"))
    me, writing, errors = threading.get_ident(), threading.Event(), []

    def deliver() -> None:
        try:
            with app.app_context():
                event.listen(db.engine, "before_cursor_execute", announce)
                status.on_status_callback(callback("delivered"))
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    def announce(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() != me and statement.lstrip().upper().startswith(WRITES):
            writing.set()

    other = threading.Thread(target=deliver)

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == me and statement.lstrip().upper().startswith(WRITES[1]):
            other.start()
            assert writing.wait(30)
            deadline = time.monotonic() + 30
            while not waiting_on_a_lock():
                assert time.monotonic() < deadline, "the other callback never waited"
                time.sleep(0.01)

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        outbound._attach(message, SID, "queued")
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    other.join(30)
    event.remove(db.engine, "before_cursor_execute", announce)
    assert errors == []
    assert writing.is_set()
    assert stored_status() == "delivered"


def test_an_outcome_reported_before_the_sid_is_known_is_on_the_texts_timeline(
    app: Flask,
) -> None:
    """ "delivered" came before Twilio's answer, on a placeholder with no session: once the
    text has its sid, the outcome is on its session's timeline, naming the text."""
    session = finished_session(phone=CUSTOMER)
    db.session.commit()
    message = outbound_text(None, "pending")
    message.session_id = session.id
    db.session.commit()
    status.on_status_callback(callback("delivered"))
    outbound._attach(message, SID, "queued")
    assert stored_status() == "delivered"
    timeline = db.session.scalars(db.select(Event).where(Event.kind == "text.delivered")).all()
    assert [(e.session_id, e.data["message_id"]) for e in timeline] == [(session.id, message.id)]
