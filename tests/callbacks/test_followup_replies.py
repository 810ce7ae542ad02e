"""The customer's reply to "Did we put it right?": by text (the simulator's texting phone,
through the fake Twilio's signed /twilio/sms) and by voice (the caller simulator answering the
follow-up call), and what it does.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from flask import Flask

from callbacks import actions, followup
from callbacks.models import FollowUpStatus, Priority, TaskState
from core import contacts
from core.models import User
from simulator.actions import Press, Speak
from simulator.fake_state import FakeTwilio
from simulator.texting import TextingPhone
from tests.callbacks.conftest import CUSTOMER, make_task, reload_task
from tests.callbacks.followups import (  # noqa: F401 - clock_fixture, hours_fixture: fixtures
    MORNING,
    Clock,
    allow_texts,
    clock_fixture,
    customer_calls,
    hours_fixture,
    reached_task,
    the_follow_up,
)
from tests.conftest import COMPANY_NUMBER, twilio_post
from texts import followup as text_follow_up
from workers import jobs

SIDS = count(1)
DUE = MORNING + timedelta(days=1, minutes=1)


def text_back(live_url: str, fake_twilio: FakeTwilio, body: str) -> list[str]:
    """The customer's phone texts ``body`` through the fake Twilio; returns our answers."""
    phone = TextingPhone(
        CUSTOMER, COMPANY_NUMBER, box=fake_twilio.messages, sms_url=f"{live_url}/twilio/sms"
    )
    return phone.send(body)


def asked_by_text(agent: User, at: Clock, outcome: str = "resolved") -> int:
    allow_texts()
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, outcome)
    at.set(DUE)
    assert jobs.send_follow_up(task.id) == "sms"
    return task.id


def asked_by_phone(agent: User, at: Clock, fake_twilio: FakeTwilio, script: list[Any]) -> int:
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    fake_twilio.script_for(CUSTOMER, script)
    at.set(DUE)
    assert jobs.send_follow_up(task.id) == "voice"
    customer_calls(fake_twilio)
    return task.id


# --- by text ----------------------------------------------------------------------------


def test_text_reply_five_is_stored_as_recovered(
    app: Flask,
    live_url: str,
    fake_twilio: FakeTwilio,
    agent: User,
    clock: Clock,
    hours: None,
) -> None:
    """A text "5": stored with the channel, thanked, the task stays closed."""
    task_id = asked_by_text(agent, clock)
    assert text_back(live_url, fake_twilio, "5") == [text_follow_up.THANKS]
    follow_up = the_follow_up(task_id)
    assert (follow_up.status, follow_up.score, follow_up.channel) == (
        FollowUpStatus.ANSWERED,
        5,
        "sms",
    )
    assert follow_up.answered_at == DUE and reload_task(task_id).state is TaskState.CLOSED


def test_text_reply_in_words_two_reopens_the_task(
    app: Flask,
    live_url: str,
    fake_twilio: FakeTwilio,
    agent: User,
    clock: Clock,
    hours: None,
) -> None:
    """A text "honestly a two, it's still broken": reopened for a supervisor, and told so."""
    task_id = asked_by_text(agent, clock)
    assert text_back(live_url, fake_twilio, "honestly a two, it's still broken") == [
        text_follow_up.SORRY
    ]
    task = reload_task(task_id)
    assert task.state is TaskState.REOPENED and task.priority == Priority.HIGH
    assert the_follow_up(task_id).score == 2


def test_unclear_text_is_asked_again_then_left(
    app: Flask,
    live_url: str,
    fake_twilio: FakeTwilio,
    agent: User,
    clock: Clock,
    hours: None,
) -> None:
    """A reply that is not 1-5 is asked again twice, then the follow-up waits unanswered."""
    task_id = asked_by_text(agent, clock)
    assert followup.QUESTION in text_back(live_url, fake_twilio, "hmm")[0]
    assert followup.QUESTION in text_back(live_url, fake_twilio, "seven")[0]
    assert text_back(live_url, fake_twilio, "what?") == []
    assert the_follow_up(task_id).status is FollowUpStatus.SENT


def test_only_the_first_reply_counts(
    app: Flask,
    live_url: str,
    fake_twilio: FakeTwilio,
    agent: User,
    clock: Clock,
    hours: None,
) -> None:
    """A second text after the score is not read as a new score."""
    task_id = asked_by_text(agent, clock)
    text_back(live_url, fake_twilio, "4")
    text_back(live_url, fake_twilio, "1")
    assert the_follow_up(task_id).score == 4
    assert reload_task(task_id).state is TaskState.CLOSED


# --- by voice ---------------------------------------------------------------------------


def test_spoken_opt_out_on_the_follow_up_call_is_confirmed_first(
    app: Flask,
    agent: User,
    clock: Clock,
    hours: None,
    fake_twilio: FakeTwilio,
) -> None:
    """Saying "stop calling me", then 1 to confirm: opted out; no score is stored."""
    task_id = asked_by_phone(agent, clock, fake_twilio, [Speak("stop calling me"), Press("1")])
    contact = contacts.find(CUSTOMER)
    assert contact is not None and contact.opted_out_at is not None
    assert the_follow_up(task_id).score is None


def test_a_spoken_opt_out_not_confirmed_asks_the_question_again(
    app: Flask,
    agent: User,
    clock: Clock,
    hours: None,
    fake_twilio: FakeTwilio,
) -> None:
    """Saying "take me off your list", then 2: not opted out, and the next answer counts."""
    task_id = asked_by_phone(
        agent, clock, fake_twilio, [Speak("take me off your list"), Press("2"), Press("4")]
    )
    contact = contacts.find(CUSTOMER)
    assert contact is not None and contact.opted_out_at is None
    assert the_follow_up(task_id).score == 4


def test_asking_for_a_person_on_the_call_reopens_the_task(
    app: Flask,
    agent: User,
    clock: Clock,
    hours: None,
    fake_twilio: FakeTwilio,
) -> None:
    """Saying "can I speak to a person": back in the queue for a supervisor, with the reason."""
    task_id = asked_by_phone(agent, clock, fake_twilio, [Speak("can I speak to a person")])
    task = reload_task(task_id)
    assert task.state is TaskState.REOPENED and task.reason_codes[-1] == "follow_up_person"
    assert the_follow_up(task_id).score is None


def test_the_follow_up_route_refuses_an_unsigned_request(app: Flask, client: Any) -> None:
    """Anyone else posting a score gets 403, like every Twilio webhook."""
    response = client.post("/twilio/voice/followup/1?try=1", data={"Digits": "1"})
    assert response.status_code == 403


def test_a_call_that_is_not_the_follow_up_call_stores_nothing(
    app: Flask,
    client: Any,
    agent: User,
    clock: Clock,
    hours: None,
    fake_twilio: FakeTwilio,
) -> None:
    """A signed request with another CallSid for the task: goodbye, and no score."""
    task_id = asked_by_phone(agent, clock, fake_twilio, [])
    form = {"CallSid": f"CA{7:032x}", "Digits": "1"}
    response = twilio_post(client, app, f"/twilio/voice/followup/{task_id}?try=1", form)
    assert response.mimetype == "text/xml" and "<Hangup" in response.get_data(as_text=True)
    assert the_follow_up(task_id).score is None


def test_odd_forms_on_the_follow_up_routes_get_twiml_or_a_short_4xx(
    app: Flask, client: Any
) -> None:
    """Bad fields, huge ids and strange tries: TwiML on the call, 4xx text on the status."""
    for path, form in [
        ("/twilio/voice/followup/99999999999?try=1", {"CallSid": f"CA{1:032x}"}),
        ("/twilio/voice/followup/1?try=abc", {"CallSid": f"CA{1:032x}"}),
        ("/twilio/voice/followup/1", {"CallSid": "nope", "Digits": "\x00"}),
    ]:
        response = twilio_post(client, app, path, form)
        assert response.status_code == 200 and response.mimetype == "text/xml"
    response = twilio_post(client, app, "/twilio/voice/followup/1/status", {"CallSid": "x"})
    assert response.status_code == 400 and response.mimetype == "text/plain"


# --- what a low reply reopens ----------------------------------------------------------


def test_a_low_reply_joins_the_contacts_other_open_task(
    app: Flask,
    agent: User,
    clock: Clock,
    hours: None,
    fake_twilio: FakeTwilio,
) -> None:
    """Another task is open for the contact: it takes the reason; the old one stays closed."""
    task = reached_task(agent)
    actions.record_outcome(task.id, agent, "resolved")
    newer = make_task(nps=2)
    fake_twilio.script_for(CUSTOMER, [Press("2")])
    clock.set(DUE)
    assert jobs.send_follow_up(task.id) == "voice"
    customer_calls(fake_twilio)
    assert reload_task(task.id).state is TaskState.CLOSED
    newer = reload_task(newer.id)
    assert newer.reason_codes[-1] == "follow_up_low" and newer.priority >= Priority.HIGH


def test_a_low_reply_after_a_follow_up_outcome_reopens_the_waiting_task(
    app: Flask,
    live_url: str,
    fake_twilio: FakeTwilio,
    agent: User,
    clock: Clock,
    hours: None,
) -> None:
    """Outcome "follow up" left the task waiting for tomorrow; a 3 brings it to a supervisor now."""
    task_id = asked_by_text(agent, clock, outcome="follow_up")
    assert reload_task(task_id).state is TaskState.RETRY_SCHEDULED
    text_back(live_url, fake_twilio, "3")
    task = reload_task(task_id)
    assert task.state is TaskState.REOPENED and task.scheduled_for <= DUE
