"""A text stored but never answered (its process died between the two): the scheduler's sweep
answers it once, late, by REST through the fake Twilio, or marks it unanswerable."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from rq.timeouts import JobTimeoutException
from sqlalchemy import event, text, update
from sqlalchemy.dialects import postgresql, sqlite

from core import contacts, queues
from core.config import LOCAL_ACCOUNT_SID
from core.db import db
from core.models import Answer, Contact
from simulator.fake_state import FakeTwilio
from simulator.inbound_texts import incoming_params
from tests.conftest import COMPANY_NUMBER, CUSTOMER, Worker, twilio_post
from tests.races import committed_before_my_first_write
from tests.texts.conftest import Clock, permit, request_text_survey
from texts import consent, conversations, inbound, privacy, stranded
from texts.models import Direction, TextMessage
from workers import cron, jobs

SID = "SM" + "a" * 32
LATER_SID = "SM" + "b" * 32
FIRST = "how likely are you to recommend us"
SECOND = "How satisfied"
PAST_GRACE = stranded.GRACE + timedelta(seconds=1)


def strand(clock: Clock, body: str, sid: str = SID, number: str = CUSTOMER) -> None:
    """Twilio delivered the text; the process stored it, then died before answering."""
    params = incoming_params(
        sid=sid, account_sid=LOCAL_ACCOUNT_SID, from_=number, to=COMPANY_NUMBER, body=body
    )
    inbound.store(params, clock.now)  # committed "receiving"; the answer never ran


def sent(fake_twilio: FakeTwilio) -> list[str]:
    """Every text the fake Twilio was asked to send, oldest first."""
    fake_twilio.messages.wait()
    return [m.body for m in fake_twilio.messages.all()]


def status(sid: str = SID) -> str:
    db.session.expire_all()
    found = db.session.scalar(db.select(TextMessage.status).where(TextMessage.sid == sid))
    assert found is not None
    return found


def scores() -> list[int | None]:
    db.session.expire_all()
    return [a.value for a in db.session.scalars(db.select(Answer))]


def survey_started(client: Any, fake_twilio: FakeTwilio) -> None:
    permit()
    assert request_text_survey(client).status_code == 201
    assert FIRST in sent(fake_twilio)[-1]


@pytest.fixture
def nine_stranded(app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio) -> None:
    """A text survey asked its first question; the reply "9" was stored, never answered."""
    survey_started(client, fake_twilio)
    strand(clock, "9")


def test_a_stranded_text_is_answered_after_the_grace_with_the_next_question(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """Past the grace, the sweep takes the answer and texts the next question, once."""
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 1
    [question] = sent(fake_twilio)[1:]
    assert question.startswith(SECOND)
    assert scores() == [9]
    assert status() == inbound.ANSWERED
    # The next minute's sweep: nothing more is sent or stored.
    clock.advance(minutes=1)
    assert stranded.sweep(clock.now) == 0
    assert len(sent(fake_twilio)) == 2 and scores() == [9]


def test_a_fresh_text_inside_the_grace_is_left_alone(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """A text younger than the grace may still be in its webhook: not touched."""
    clock.advance(seconds=(stranded.GRACE - timedelta(seconds=1)).total_seconds())
    assert stranded.sweep(clock.now) == 0
    assert len(sent(fake_twilio)) == 1 and scores() == []
    assert status() == inbound.UNANSWERED


def test_a_redelivery_after_the_sweep_answers_nothing(
    nine_stranded: None, app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """Twilio's fallback posts the same text after the sweep answered it: empty TwiML."""
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 1
    params = incoming_params(
        sid=SID, account_sid=LOCAL_ACCOUNT_SID, from_=CUSTOMER, to=COMPANY_NUMBER, body="9"
    )
    response = twilio_post(client, app, "/twilio/sms", params)
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    assert list(root.iter("Message")) == []
    assert len(sent(fake_twilio)) == 2 and scores() == [9]


def test_the_sweep_sends_nothing_when_a_redelivery_claimed_the_text_meanwhile(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook's claim commits between the sweep's read and its claim: one answer."""
    claim = inbound.claim

    def taken_meanwhile(sid: str) -> bool:
        with db.engine.begin() as other:  # the redelivery's claim, committed
            other.execute(
                update(TextMessage).where(TextMessage.sid == sid).values(status=inbound.ANSWERED)
            )
        return claim(sid)

    monkeypatch.setattr(inbound, "claim", taken_meanwhile)
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 0
    assert len(sent(fake_twilio)) == 1 and scores() == []


def test_a_text_whose_survey_expired_is_marked_unanswerable(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    """Found after the survey ended: not answered, marked so, and logged."""
    clock.advance(hours=25)
    with caplog.at_level(logging.WARNING, logger=stranded.__name__):
        assert stranded.sweep(clock.now) == 0
    assert status() == inbound.UNANSWERABLE
    assert len(sent(fake_twilio)) == 1 and scores() == []
    [line] = [r.getMessage() for r in caplog.records if SID in r.getMessage()]
    assert "not answered" in line
    assert stranded.sweep(clock.now) == 0  # and not looked at again
    assert status() == inbound.UNANSWERABLE


def test_a_text_overtaken_by_a_later_reply_is_not_answered(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """The texter sent the answer again and got the next question: the stranded copy
    would answer the wrong question, so it is marked unanswerable."""
    clock.advance(seconds=10)
    later = incoming_params(
        sid=LATER_SID, account_sid=LOCAL_ACCOUNT_SID, from_=CUSTOMER, to=COMPANY_NUMBER, body="9"
    )
    assert SECOND in inbound.receive(later, clock.now)[0]
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 0
    assert status() == inbound.UNANSWERABLE
    assert len(sent(fake_twilio)) == 1 and scores() == [9]


def test_outside_calling_hours_the_answer_waits_for_the_morning(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """Midnight for the texter: left for later; at 08:00 there it is answered."""
    clock.now = datetime(2025, 6, 5, 7, 0, tzinfo=UTC)  # midnight in San Francisco
    assert stranded.sweep(clock.now) == 0
    assert status() == inbound.UNANSWERED and len(sent(fake_twilio)) == 1
    clock.now = datetime(2025, 6, 5, 15, 0, tzinfo=UTC)  # 08:00 there
    assert stranded.sweep(clock.now) == 1
    assert sent(fake_twilio)[-1].startswith(SECOND) and scores() == [9]


def test_a_stranded_stop_opts_out_and_sends_nothing(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """STOP found late is applied (Twilio confirms it itself) and the survey is over."""
    survey_started(client, fake_twilio)
    strand(clock, "STOP")
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 1
    assert not consent.may_text(CUSTOMER)
    assert len(sent(fake_twilio)) == 1


def test_a_sweep_takes_at_most_a_batch(
    app: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded: two stranded texts and a batch of one take two sweeps, oldest first."""
    monkeypatch.setattr(stranded, "BATCH", 1)
    strand(clock, "hello?", sid=SID)  # out of the blue: answered with nothing
    clock.advance(seconds=1)
    strand(clock, "hi", sid=LATER_SID, number="+14155550124")
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 1
    assert (status(SID), status(LATER_SID)) == (inbound.ANSWERED, inbound.UNANSWERED)
    assert stranded.sweep(clock.now) == 1
    assert stranded.sweep(clock.now) == 0


def test_the_scheduler_runs_the_sweep_every_minute(
    app: Flask,
    client: Any,
    clock: Clock,
    fake_twilio: FakeTwilio,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Registered with the other sweeps; as a job it settles a long-stranded text."""
    assert (jobs.answer_stranded_texts, cron.SWEEP_SECONDS) in cron.PERIODIC
    survey_started(client, fake_twilio)
    strand(clock, "9")
    clock.advance(hours=25)  # the next day, in the texter's hours: its survey has expired
    monkeypatch.setattr(stranded, "utcnow", lambda: clock.now)
    queues.enqueue("answer_stranded_texts")
    worker.run()
    assert worker.queued() == 0
    assert status() == inbound.UNANSWERABLE


def test_the_sweeps_query_reads_the_partial_index(app: Flask, clock: Clock) -> None:
    """Among many answered texts, the plan reads only the index of unanswered ones."""
    rows = [
        {
            "direction": Direction.INBOUND if i % 2 else Direction.OUTBOUND,
            "number": CUSTOMER,
            "body": "x",
            "status": "received" if i % 2 else "delivered",
            "purpose": "reply",
            "created_at": clock.now - timedelta(minutes=i),
            "updated_at": clock.now,
        }
        for i in range(5000)
    ]
    db.session.execute(db.insert(TextMessage), rows)
    db.session.commit()
    dialect = db.engine.dialect.name
    db.session.execute(text("ANALYZE text_messages" if dialect == "postgresql" else "ANALYZE"))
    compiled = stranded.due(clock.now).compile(
        dialect=postgresql.dialect() if dialect == "postgresql" else sqlite.dialect(),
        compile_kwargs={"literal_binds": True},
    )
    explain = "EXPLAIN" if dialect == "postgresql" else "EXPLAIN QUERY PLAN"
    plan = "\n".join(str(r[-1]) for r in db.session.execute(text(f"{explain} {compiled}")))
    db.session.rollback()
    assert "ix_text_messages_receiving" in plan, plan
    assert " LIMIT " in str(compiled)


def test_texts_waiting_for_calling_hours_do_not_hold_back_newer_ones(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """A full batch of replies waiting for the morning in San Francisco: a STOP from New
    York stranded after them is still applied by the next sweep."""
    survey_started(client, fake_twilio)
    clock.now = datetime(2025, 6, 5, 5, 0, tzinfo=UTC)  # 22:00 in San Francisco
    for i in range(stranded.BATCH):
        strand(clock, "9", sid=f"SM{i:032x}")
    new_york = "+12125550199"
    strand(clock, "STOP", sid=LATER_SID, number=new_york)
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 1
    assert status(LATER_SID) == inbound.ANSWERED
    db.session.expire_all()
    assert not consent.may_text(new_york)
    assert status(f"SM{0:032x}") == inbound.UNANSWERED  # still waiting for 08:00 there
    assert len(sent(fake_twilio)) == 1


def test_two_sweeps_at_once_answer_one_question_once(
    nine_stranded: None, app: Flask, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """A sweep that overran its minute answers "9" while the next one takes the texter's
    second stranded text, read before that answer: the question is answered once, the next
    one sent once, and the second text is unanswerable (it would answer the first again)."""
    clock.advance(seconds=5)
    strand(clock, "8", sid=LATER_SID)
    clock.advance(seconds=PAST_GRACE.total_seconds())
    first, second = (
        db.session.scalar(db.select(TextMessage.id).where(TextMessage.sid == sid))
        for sid in (SID, LATER_SID)
    )
    assert first is not None and second is not None
    now = clock.now

    def other_sweep() -> None:
        assert stranded.answer_late(first, now) is stranded.Late.ANSWERED

    with committed_before_my_first_write(app, ("UPDATE",), other_sweep) as raced:
        assert stranded.answer_late(second, now) is stranded.Late.SETTLED
    assert raced.is_set()
    assert scores() == [9]
    [question] = sent(fake_twilio)[1:]  # the next question, once
    assert question.startswith(SECOND)
    assert (status(SID), status(LATER_SID)) == (inbound.ANSWERED, inbound.UNANSWERABLE)


def test_the_jobs_timeout_ends_the_sweep_and_leaves_the_text_for_the_next(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RQ's timeout fires while a text is answered: the sweep stops there (it is not taken
    for a fault of that text, marked unanswerable), and the next sweep answers it."""
    dispatch = conversations.dispatch

    def out_of_time(*args: Any) -> list[str]:
        raise JobTimeoutException("Task exceeded maximum timeout value (300 seconds)")

    monkeypatch.setattr(conversations, "dispatch", out_of_time)
    clock.advance(seconds=PAST_GRACE.total_seconds())
    with pytest.raises(JobTimeoutException):
        stranded.sweep(clock.now)
    assert status() == inbound.UNANSWERED
    monkeypatch.setattr(conversations, "dispatch", dispatch)
    clock.advance(minutes=1)
    assert stranded.sweep(clock.now) == 1
    assert sent(fake_twilio)[-1].startswith(SECOND) and scores() == [9]


def test_a_text_whose_sender_was_erased_is_not_answered(
    nine_stranded: None, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """The caller's data was erased while their text waited: nothing is sent, and no
    contact is made up for the erased number."""
    privacy.erase([CUSTOMER], contacts.find(CUSTOMER))
    db.session.commit()
    clock.advance(seconds=PAST_GRACE.total_seconds())
    assert stranded.sweep(clock.now) == 0
    assert status() == inbound.UNANSWERABLE
    assert contacts.find(contacts.ERASED) is None
    assert db.session.scalar(db.select(db.func.count()).select_from(Contact)) == 1
    assert len(sent(fake_twilio)) == 1 and scores() == []


def test_a_nights_backlog_costs_the_sweep_one_query_a_page(
    app: Flask, client: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch, fake_twilio: FakeTwilio
) -> None:
    """Texts waiting for the texter's morning are passed over every minute: the sweep reads
    them a page at a time and nothing more (it read each one's contact and conversations)."""
    monkeypatch.setattr(stranded, "BATCH", 10)
    survey_started(client, fake_twilio)
    clock.now = datetime(2025, 6, 5, 5, 0, tzinfo=UTC)  # 22:00 in San Francisco
    for i in range(25):
        strand(clock, "9", sid=f"SM{i:032x}")
    clock.advance(seconds=PAST_GRACE.total_seconds())
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert stranded.sweep(clock.now) == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 3, statements  # pages of 10, 10 and 5
    assert status(f"SM{24:032x}") == inbound.UNANSWERED
