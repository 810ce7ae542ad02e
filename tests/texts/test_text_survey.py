"""The text survey end to end: the API texts the first question, the phone replies through
the fake Twilio, answers are stored on the same survey version and the callback rules run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from core import queues
from core.db import db
from core.models import CallSession, Role, SurveyOutcome
from core.survey_requests import SurveyRequest
from ivr import outbound
from simulator.texting import TextingPhone
from tests.conftest import CUSTOMER, Worker
from tests.factories import login, make_user
from tests.texts.conftest import (
    AUTH,
    MIDNIGHT,
    Clock,
    permit,
    request_text_survey,
    texts_to,
)


def session_of(response: Any) -> CallSession:
    db.session.expire_all()
    session = db.session.get(CallSession, response.get_json()["session_id"])
    assert session is not None
    return session


def scores(session: CallSession) -> dict[str, int | None]:
    return {a.question.key: a.value for a in session.answers}


def test_a_number_without_permission_is_refused_with_the_reason(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """No permission to text: 409 no_text_consent, and nothing is sent."""
    response = request_text_survey(client)
    assert response.status_code == 409
    assert response.get_json()["error"] == "no_text_consent"
    assert texts_to(phone) == []


def test_the_first_text_asks_the_first_question_and_says_how_to_stop(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """201, and the phone gets the greeting, the 0-10 question without keypad words, and STOP."""
    permit()
    response = request_text_survey(client)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["channel"] == "sms"
    [first] = texts_to(phone)
    assert "how likely are you to recommend us" in first
    assert "Reply with a number from 0 to 10." in first
    assert "press" not in first.lower()
    assert "Reply STOP to opt out." in first


def test_replies_in_digits_and_words_are_stored_on_the_survey_version(
    app: Flask, client: Any, clock: Clock, phone: TextingPhone, worker: Worker
) -> None:
    """ "9", "four, the agent was kind", "yes", a comment and "no" complete the survey."""
    permit()
    response = request_text_survey(client)
    assert "How satisfied" in phone.send("9")[0]
    assert "YES or NO" in phone.send("four, the agent was kind")[0]
    assert "anything you'd like to tell us" in phone.send("yes")[0]
    assert "call you back" in phone.send("Quick and friendly, thanks.")[0]
    assert phone.send("no") == ["Thank you for your feedback. Goodbye."]
    session = session_of(response)
    assert scores(session) == {"nps": 9, "csat": 4, "resolved": 1}
    assert session.channel == "sms"
    assert session.outcome is SurveyOutcome.COMPLETED
    assert session.survey_version.survey.slug == "post-call"
    worker.run()  # the comment is read by the same comment reader as a spoken one
    db.session.expire_all()
    [comment] = session_of(response).recordings
    assert comment.transcript == "Quick and friendly, thanks."
    assert comment.analysis is not None


def test_an_unclear_reply_is_asked_again_then_skipped(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """ "seven or eight" is no answer: asked again twice, then the survey moves on."""
    permit()
    response = request_text_survey(client)
    assert phone.send("seven or eight")[0].startswith("Sorry, I didn't get that.")
    assert phone.send("dunno")[0].startswith("Sorry, I didn't get that.")
    assert "How satisfied" in phone.send("maybe")[0]
    assert scores(session_of(response)) == {"nps": None}


def test_a_low_score_by_text_opens_a_callback_task(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """NPS 2 and CSAT 1 by text: a callback task appears in GET /api/callbacks."""
    permit()
    response = request_text_survey(client)
    for reply in ("2", "1", "no", "skip", "no"):
        phone.send(reply)
    tasks = client.get("/api/callbacks", headers=AUTH).get_json()["callbacks"]
    assert len(tasks) == 1
    reasons = {r["code"] for r in tasks[0]["reasons"]}
    assert {"low_nps", "low_csat"} <= reasons
    assert tasks[0]["session_id"] == response.get_json()["session_id"]


def test_asking_for_a_person_in_words_books_the_callback(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """ "can someone call me please" ends the survey with a callback promise and a task."""
    permit()
    request_text_survey(client)
    [reply] = phone.send("can someone call me please")
    assert "will call you back" in reply
    [task] = client.get("/api/callbacks", headers=AUTH).get_json()["callbacks"]
    assert "asked_for_human" in {r["code"] for r in task["reasons"]}


def test_outside_calling_hours_the_survey_is_scheduled(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """Midnight for the customer: 202 with the next 08:00 there, and no text yet."""
    permit()
    clock.now = MIDNIGHT
    response = request_text_survey(client)
    assert response.status_code == 202
    body = response.get_json()
    assert body["scheduled_for"] == "2025-06-05T15:00:00+00:00"  # 08:00 in San Francisco
    request = db.session.get(SurveyRequest, body["request_id"])
    assert request is not None and request.channel == "sms"
    assert texts_to(phone) == []


def test_a_silent_survey_ends_as_partial_when_it_expires(
    client: Any, clock: Clock, phone: TextingPhone, worker: Worker
) -> None:
    """One answer, then nothing for a day: the survey is partial and its answer kept."""
    permit()
    response = request_text_survey(client)
    assert response.status_code == 201, response.get_json()
    # The answer is taken (the next question comes back) before the clock moves on.
    assert "How satisfied" in phone.send("3")[0]
    clock.advance(hours=25)
    queues.enqueue("expire_text_conversations")  # the scheduler's every-minute job
    worker.run()
    assert worker.queued() == 0
    session = session_of(response)
    assert session.outcome is SurveyOutcome.PARTIAL
    assert scores(session) == {"nps": 3}
    assert CUSTOMER in session.to_number


def test_the_call_page_shows_a_text_survey_and_its_comment(
    app: Flask, client: Any, clock: Clock, phone: TextingPhone, worker: Worker
) -> None:
    """The manager's page for a text survey: its answers and the texted comment."""
    permit()
    response = request_text_survey(client)
    for reply in ("2", "1", "no", "The app kept crashing and nobody helped.", "no"):
        phone.send(reply)
    worker.run()
    login(client, make_user(Role.MANAGER))
    page = client.get(f"/dashboard/calls/{response.get_json()['session_id']}").get_data(
        as_text=True
    )
    assert "Text survey with" in page
    assert "Sent by text" in page
    assert "and nobody helped." in page  # the comment, read: "kept crashing" marked negative
    assert '<mark class="flag-negative" title="Negative">kept crashing</mark>' in page


def test_a_scheduled_text_survey_goes_out_at_the_opening(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """Asked at midnight: at 08:00 there the job texts the first question."""
    permit()
    clock.now = MIDNIGHT
    request_id = request_text_survey(client).get_json()["request_id"]
    opening = MIDNIGHT + timedelta(hours=8)
    assert outbound.place_scheduled(request_id, now=opening) == "placed"
    assert "how likely are you to recommend us" in texts_to(phone)[0]


def test_a_scheduled_text_survey_is_dropped_after_stop(
    client: Any, clock: Clock, phone: TextingPhone
) -> None:
    """STOP overnight: at the opening the request is refused and nothing is texted."""
    permit()
    clock.now = MIDNIGHT
    request_id = request_text_survey(client).get_json()["request_id"]
    phone.send("STOP")
    sent = len(texts_to(phone))
    assert outbound.place_scheduled(request_id, now=MIDNIGHT + timedelta(hours=8)) == "refused"
    assert len(texts_to(phone)) == sent
