"""An unexpected fault while answering a texted reply: the text is kept, the texter gets an
apology and the question again, the fault is logged once, and a redelivery changes nothing."""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN
from core.db import db
from core.models import Answer
from simulator.inbound_texts import incoming_params, post_incoming, twiml_messages
from tests.conftest import COMPANY_NUMBER, CUSTOMER, twilio_post
from tests.texts.conftest import Clock, permit, request_text_survey
from texts import answering, conversations, inbound
from texts.models import Direction, TextMessage

SID = "SM" + "f" * 32
SORRY = "Sorry, something went wrong on our side."


def deliver(client: Any, app: Flask, body: str, sid: str = SID) -> list[str]:
    """Twilio posts the text (signed); the texts the phone gets back."""
    params = incoming_params(
        sid=sid, account_sid=LOCAL_ACCOUNT_SID, from_=CUSTOMER, to=COMPANY_NUMBER, body=body
    )
    response = twilio_post(client, app, "/twilio/sms", params)
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    return [(m.text or "").strip() for m in root.iter("Message")]


def inbound_texts() -> list[tuple[str | None, str]]:
    db.session.expire_all()
    rows = db.session.scalars(
        db.select(TextMessage).where(TextMessage.direction == Direction.INBOUND)
    )
    return [(m.sid, m.body) for m in rows]


def broken(*args: object) -> list[str]:
    raise RuntimeError("injected fault")


def test_a_fault_while_answering_keeps_the_reply_and_asks_again(
    app: Flask,
    client: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The texter gets an apology and the same question; the text stays; one ERROR line."""
    permit()
    assert request_text_survey(client).status_code == 201
    with monkeypatch.context() as patch, caplog.at_level(logging.INFO):
        patch.setattr(answering, "next_step", broken)  # after the answer was read and stored
        [reply] = deliver(client, app, "9")
    assert reply.startswith(SORRY)
    assert "how likely are you to recommend us" in reply
    assert reply.endswith("Reply with a number from 0 to 10.")
    assert inbound_texts() == [(SID, "9")]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert SID in errors[0].getMessage()
    # Twilio delivers the same text again: nothing is sent, stored or answered twice.
    assert deliver(client, app, "9") == []
    assert inbound_texts() == [(SID, "9")]
    assert db.session.scalars(db.select(Answer)).all() == []
    # The texter replies again: the survey goes on from the same question.
    assert "How satisfied" in deliver(client, app, "9", sid="SM" + "e" * 32)[0]


def test_a_fault_outside_a_question_is_still_answered(
    app: Flask,
    client: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No question open (a text out of the blue), a fault: an apology, never silence."""
    monkeypatch.setattr(conversations, "dispatch", broken)
    assert deliver(client, app, "hello?") == [f"{SORRY} Please try again later."]
    assert inbound_texts() == [(SID, "hello?")]


def test_the_same_text_delivered_twice_at_once_is_answered_once(
    app: Flask, client: Any, clock: Clock, live_url: str
) -> None:
    """Two deliveries of one MessageSid at the same moment: one reply, one answer stored."""
    permit()
    assert request_text_survey(client).status_code == 201
    params = incoming_params(
        sid=SID, account_sid=LOCAL_ACCOUNT_SID, from_=CUSTOMER, to=COMPANY_NUMBER, body="9"
    )
    start = threading.Barrier(2)
    answers: list[list[str]] = []

    def post() -> None:
        start.wait()
        answer = post_incoming(f"{live_url}/twilio/sms", params, auth_token=LOCAL_AUTH_TOKEN)
        answers.append(twiml_messages(answer))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(len(a) for a in answers) == [0, 1]
    assert "How satisfied" in max(answers, key=len)[0]
    db.session.expire_all()
    assert [a.value for a in db.session.scalars(db.select(Answer))] == [9]
    assert inbound_texts() == [(SID, "9")]


def test_no_apology_when_another_delivery_took_the_text_meanwhile(
    app: Flask,
    client: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Answering failed and was rolled back; a redelivery of the same text, waiting on it,
    then claimed and answered it: this delivery sends nothing (not a second reply)."""
    permit()
    assert request_text_survey(client).status_code == 201
    apologise = inbound._apologise

    def taken_meanwhile(sid: str, now: Any) -> list[str]:
        with db.engine.begin() as other:  # the other delivery's claim, committed
            other.execute(
                update(TextMessage).where(TextMessage.sid == sid).values(status=inbound.ANSWERED)
            )
        return apologise(sid, now)

    monkeypatch.setattr(answering, "next_step", broken)
    monkeypatch.setattr(inbound, "_apologise", taken_meanwhile)
    assert deliver(client, app, "9") == []
    db.session.expire_all()
    outbound = db.session.scalars(
        db.select(TextMessage.body).where(TextMessage.direction == Direction.OUTBOUND)
    ).all()
    assert not any(body.startswith(SORRY) for body in outbound)
