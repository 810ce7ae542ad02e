"""Carrier keywords exactly as Twilio documents them, texted from a phone through the fake
Twilio: the opt-out is shared with voice and the suppression list."""

from __future__ import annotations

from typing import Any

import pytest

from core import suppression
from core.db import db
from simulator.texting import TextingPhone
from tests.texts.conftest import (
    Clock,
    permit,
    request_call_survey,
    request_text_survey,
    texts_to,
)
from texts import consent

OPT_OUTS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
TWILIO_CONFIRMATION = "You have successfully been unsubscribed."


@pytest.mark.parametrize("word", OPT_OUTS)
def test_each_opt_out_keyword_stops_texts_and_survey_calls(
    client: Any, clock: Clock, phone: TextingPhone, word: str
) -> None:
    """After the keyword, texts and survey calls to the number answer 409 opted_out."""
    permit()
    phone.send(word)
    assert texts_to(phone)[-1].startswith(TWILIO_CONFIRMATION)
    for response in (request_text_survey(client), request_call_survey(client)):
        assert response.status_code == 409
        assert response.get_json()["error"] == "opted_out"
    assert suppression.suppression_reason(phone.number) == "opted_out"


@pytest.mark.parametrize("spelled", [" stop ", "Stop", "quit\n"])
def test_keywords_are_read_whole_trimmed_and_in_any_case(
    clock: Clock, phone: TextingPhone, spelled: str
) -> None:
    """ " stop ", "Stop" and "quit" are keywords: permission to text is gone."""
    permit()
    phone.send(spelled)
    assert not consent.may_text(phone.number)


def test_a_keyword_inside_a_sentence_is_not_one(clock: Clock, phone: TextingPhone) -> None:
    """ "please stop the charge" is not STOP: the number stays subscribed."""
    permit()
    phone.send("please stop the charge")
    assert consent.may_text(phone.number)


@pytest.mark.parametrize("word", ["START", "UNSTOP", "YES"])
def test_start_brings_texts_back_but_not_survey_calls(
    client: Any, clock: Clock, phone: TextingPhone, word: str
) -> None:
    """After STOP then START (or UNSTOP, YES), a text survey goes out; a survey call is 409."""
    permit()
    phone.send("STOP")
    clock.advance(minutes=1)
    [reply] = phone.send(word)
    assert "texts from us are back on" in reply
    assert "Survey calls stay off" in reply
    assert request_text_survey(client).status_code == 201
    call = request_call_survey(client)
    assert (call.status_code, call.get_json()["error"]) == (409, "opted_out")


def test_start_from_a_number_that_never_agreed_is_not_permission(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """START without any earlier permission re-subscribes nothing."""
    [reply] = phone.send("START")
    assert "no texts from us to restart" in reply
    assert request_text_survey(client).get_json()["error"] == "no_text_consent"


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_says_who_we_are_and_how_to_stop(clock: Clock, phone: TextingPhone, word: str) -> None:
    """HELP (or INFO) is answered with the sender's name and how to stop."""
    [reply] = phone.send(word)
    assert reply.startswith("Customer Care:")
    assert "Reply STOP" in reply


def test_after_stop_twilio_itself_refuses_our_texts(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """A voice opt-out is not needed: once STOP, the fake Twilio blocks texts (21610) too."""
    permit()
    phone.send("STOP")
    sent = len(texts_to(phone))
    db.session.expire_all()
    assert request_text_survey(client).status_code == 409
    assert len(texts_to(phone)) == sent


def test_stop_in_a_survey_keeps_a_callback_asked_for_in_it(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """ "call me" during the survey, then STOP: the callback stays; a low score alone would not."""
    permit()
    request_text_survey(client)
    phone.send("1")
    phone.send("can someone call me")
    clock.advance(minutes=2)
    phone.send("STOP")
    tasks = client.get("/api/callbacks", headers={"Authorization": "Bearer test-api-token"})
    [task] = tasks.get_json()["callbacks"]
    assert "asked_for_human" in {r["code"] for r in task["reasons"]}


def test_stop_in_a_survey_drops_a_callback_for_a_low_score(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """NPS 1, then STOP before the end: no callback task is left open."""
    permit()
    request_text_survey(client)
    phone.send("1")
    phone.send("STOP")
    tasks = client.get("/api/callbacks", headers={"Authorization": "Bearer test-api-token"})
    assert tasks.get_json()["callbacks"] == []
