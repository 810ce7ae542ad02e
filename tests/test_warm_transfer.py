"""One promise for a person: the greeting says exactly which keys work, the flow honours it,
a transfer in hours whispers to the agent before the bridge, and an unanswered one becomes a
high-priority callback whose time the caller is told."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask import Flask

from callbacks import evaluation
from callbacks.models import CallbackTask, Priority
from core.db import db
from core.models import CallSession, QuestionKind, SurveyOutcome, SurveyVersion
from ivr import lifecycle, person
from replies.answers import Intent, escape_keys
from simulator.actions import Press, Speak
from simulator.caller import CallerSimulator, CallResult, DialOutcome, DialRequest
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import make_session
from tests.conftest import API_TOKEN, COMPANY_NUMBER, CUSTOMER, twilio_post
from tests.sources import load_source

AGENT_LINE = "+14155550999"
LA = ZoneInfo("America/Los_Angeles")
NAMES = {"star": "*", "pound": "#"}
DOES = {"to speak with a person": Intent.HUMAN, "to stop these surveys": Intent.OPT_OUT}


@pytest.fixture
def team_in(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A transfer line staffed at every hour, so these tests hold on any clock."""
    monkeypatch.setitem(app.config, "TRANSFER_NUMBER", AGENT_LINE)
    monkeypatch.setitem(app.config, "TRANSFER_HOURS", "00:00-24:00")


def run(
    simulator: CallerSimulator, survey_url: str, status_url: str, actions: list[Any]
) -> CallResult:
    return simulator.call(
        survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url
    ).run(actions)


def session_of(result: CallResult) -> CallSession:
    db.session.expire_all()
    session = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == result.sid))
    assert session is not None
    return session


def promised_keys(sentence: str) -> dict[str, Intent]:
    """ "press 0 or star to speak with a person, or 9 to stop these surveys" -> keys."""
    keys: dict[str, Intent] = {}
    for part in sentence.removeprefix("press ").split(", or "):
        names, _, does = part.partition(" to ")
        for name in names.split(" or "):
            keys[NAMES.get(name, name)] = DOES[f"to {does}"]
    return keys


def greeting_says(app: Flask, client: Any) -> str:
    response = twilio_post(
        client,
        app,
        "/twilio/voice/survey?step=start",
        {"CallSid": "CA" + "7" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER},
    )
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    return " ".join(say.text or "" for say in root.iter("Say"))


# --- the promise ------------------------------------------------------------------------


def test_the_greeting_promises_exactly_the_keys_that_work(app: Flask, client: Any) -> None:
    """Star on the 0-10 question; 0, star and 9 on every step after it: as escape_keys says."""
    said = greeting_says(app, client)
    assert "press 0 to speak with a person" not in said.split("On the questions after it")[0]
    first = re.search(r"On the first question, (press [^.]+)\.", said)
    later = re.search(r"On the questions after it, (press [^.]+)\.", said)
    assert first is not None and later is not None, said
    assert promised_keys(first.group(1)) == escape_keys(QuestionKind.NPS)
    for kind in (QuestionKind.CSAT, QuestionKind.YES_NO, None):  # None: consent, callback offer
        assert promised_keys(later.group(1)) == escape_keys(kind)


ANSWERED_FIRST = [Press("8#")]  # the NPS answered: the CSAT question is next


@pytest.mark.parametrize(
    ("before", "key", "heard"),
    [
        ([], "*", "we will call you back"),  # the first question: star is a person
        (ANSWERED_FIRST, "0", "we will call you back"),
        (ANSWERED_FIRST, "*", "we will call you back"),
        (ANSWERED_FIRST, "9", "You have been removed from all future surveys"),
    ],
)
def test_the_flow_honours_each_promised_key(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    before: list[Any],
    key: str,
    heard: str,
) -> None:
    """Each key the greeting names does what it says at that point of the survey."""
    result = run(simulator, survey_url, status_url, [*before, Press(key), Press("1"), Press("1")])
    assert heard in " ".join(result.heard)


def test_the_migration_takes_the_false_promise_out_of_stored_greetings(app: Flask) -> None:
    """Greetings saved with "at any time, press 0" lose that sentence; the rest stays."""
    old = (
        "Hello! Thanks for calling us today. We have a short survey about your call. "
        "At any time, press 0 to speak with a person, or 9 to stop receiving these surveys."
    )
    version = db.session.scalar(db.select(SurveyVersion))
    assert version is not None
    version.greeting, version_id = old, version.id
    db.session.commit()
    db.session.remove()
    migration = load_source("migrations/versions/e1_survey_requests.py")
    with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.strip_old_promise()  # what upgrade() runs after creating the table
    greeting = db.session.scalar(
        db.select(SurveyVersion.greeting).where(SurveyVersion.id == version_id)
    )
    assert greeting == "Hello! Thanks for calling us today. We have a short survey about your call."


def test_zero_on_the_first_question_is_a_score_as_promised(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """The greeting does not promise 0 there, and 0 is the score zero."""
    session = session_of(run(simulator, survey_url, status_url, [Press("0#")]))
    assert session.asked_for_human is False
    assert session.answer_for("nps") is not None and session.answer_for("nps").value == 0  # type: ignore[union-attr]


# --- the warm transfer --------------------------------------------------------------------


def test_in_hours_the_agent_hears_the_whisper_then_is_bridged(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, team_in: None
) -> None:
    """Scores and the caller's words go to the agent before the caller is put through."""
    result = run(
        simulator,
        survey_url,
        status_url,
        [Press("3#"), Speak("two, and can I talk to someone about my bill being wrong")],
    )
    assert "Please hold while we connect you" in " ".join(result.heard)
    [agent] = result.legs
    whisper = " ".join(agent.heard)
    assert "3 out of 10 for recommending us" in whisper
    assert "2 out of 5 for satisfaction" in whisper
    assert "can I talk to someone about my bill being wrong" in whisper
    assert whisper not in " ".join(result.heard)  # the caller never hears it
    session = session_of(result)
    assert session.transferred is True and session.outcome is SurveyOutcome.PARTIAL
    dial = next(r for r in result.requests if "step=transferred" in r.url)
    assert dial.params["DialBridged"] == "true"


def test_the_whisper_carries_what_was_said_with_the_star(
    app: Flask, simulator: CallerSimulator, survey_url: str, status_url: str, team_in: None
) -> None:
    """A spoken request kept for the whisper only: it is not stored as an answer."""
    result = run(
        simulator, survey_url, status_url, [Speak("get me an operator, my card was charged twice")]
    )
    whisper = " ".join(result.legs[0].heard)
    assert "No scores given yet" in whisper
    assert "my card was charged twice" in whisper
    assert all(a.speech is None or "charged" not in a.speech for a in session_of(result).answers)


def test_through_the_fake_twilio_the_agents_leg_hears_the_whisper(
    app: Flask, client: Any, fake_twilio: FakeTwilio, team_in: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API survey call, star on the first question: the agent's leg is whispered, bridged."""
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-24:00")
    fake_twilio.script_for(CUSTOMER, [Press("*")])
    response = client.post(
        "/api/surveys/calls",
        json={"to": CUSTOMER},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert response.status_code == 201
    fake_twilio.wait_for_calls()
    [agent] = [c for c in fake_twilio.call_list() if c.to == AGENT_LINE]
    assert agent.heard and agent.heard[0].startswith("Survey caller for you")
    assert agent.parent_call_sid == response.get_json()["call_sid"]
    db.session.expire_all()
    session = db.session.get(CallSession, response.get_json()["session_id"])
    assert session is not None and session.transferred is True


def nobody_answers(request: DialRequest) -> DialOutcome:
    return DialOutcome("no-answer", ring_seconds=20)


@pytest.fixture
def unanswered(simulator: CallerSimulator) -> CallerSimulator:
    simulator.dial_handler = nobody_answers
    return simulator


Asap = Callable[[datetime, datetime], tuple[str, CallSession, CallbackTask]]


@pytest.fixture
def asap(
    unanswered: CallerSimulator,
    survey_url: str,
    status_url: str,
    team_in: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Asap:
    """Press 0, nobody answers, "this number", "as soon as possible": the promise is said at
    ``spoken``; the call ends and the rules run at ``ended``. What was heard, session, task."""

    def call(spoken: datetime, ended: datetime) -> tuple[str, CallSession, CallbackTask]:
        monkeypatch.setattr(person, "utcnow", lambda: spoken)
        for module in (lifecycle, evaluation):
            monkeypatch.setattr(module, "utcnow", lambda: ended)
        actions = [Press("9#"), Press("0"), Press("1"), Press("1")]
        result = run(unanswered, survey_url, status_url, actions)
        assert result.legs == []  # never answered: no whisper played
        session = session_of(result)
        task = db.session.scalar(
            db.select(CallbackTask).where(CallbackTask.contact_id == session.contact_id)
        )
        assert task is not None
        return " ".join(result.heard), session, task

    return call


def test_no_answer_books_a_high_priority_callback_and_says_when(app: Flask, asap: Asap) -> None:
    """Nobody picks up: the caller picks number and time, hears by when, and the task is high."""
    spoken = at(10, 2)
    heard, _, task = asap(spoken, spoken)
    assert "nobody could answer just now, so we will call you back" in heard
    assert task.priority == Priority.HIGH
    assert [r["code"] for r in task.reasons] == ["asked_for_human"]
    # The task's own sums (high priority: 60 minutes from the promise), rounded up to five
    # minutes: the caller was told the same.
    assert (task.scheduled_for, task.due_at) == (spoken, spoken + timedelta(minutes=60))
    assert "Someone from our team will call you back by 11:05 AM today." in heard


def test_a_call_that_ends_after_eight_pm_keeps_the_promise_made_before(
    app: Flask, asap: Asap
) -> None:
    """Promised at 19:59:50, the goodbye and the hang-up at 20:00:10: "by 9 PM today" holds
    (an hour from 20:00:10 would end after calling hours and move to the next morning)."""
    spoken, ended = at(19, 59) + timedelta(seconds=50), at(20) + timedelta(seconds=10)
    heard, session, task = asap(spoken, ended)
    assert "Someone from our team will call you back by 9 PM today." in heard
    assert session.ended_at == ended
    assert task.due_at == spoken + timedelta(minutes=60) <= at(21)


def test_an_agent_who_answers_but_never_takes_the_call_means_a_callback(
    app: Flask, client: Any
) -> None:
    """DialBridged=false (screened out): the caller is offered the callback, not goodbye."""
    params = {"CallSid": "CA" + "8" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}
    twilio_post(client, app, "/twilio/voice/survey?step=start", params)
    response = twilio_post(
        client,
        app,
        "/twilio/voice/survey?step=transferred",
        {**params, "DialCallStatus": "completed", "DialBridged": "false"},
    )
    assert "nobody could answer just now" in response.get_data(as_text=True)


# --- when the caller is told to expect the call ------------------------------------------------


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, 2, hour, minute, tzinfo=LA).astimezone(UTC)  # a Monday


@pytest.mark.parametrize(
    ("now", "preference", "promise"),
    [
        (at(10), "now", "by 11 AM today"),
        (at(10, 7), "now", "by 11:10 AM today"),  # rounded up, never earlier than the task
        (at(20, 30), "now", "tomorrow between 8 AM and 9 AM"),  # would end after 21:00
        (at(6, 15), "now", "today between 8 AM and 9 AM"),  # before calling hours
        (at(10), "later_today", "today between 1 PM and 2 PM"),
        (at(10), "tomorrow", "tomorrow between 8 AM and 9 AM"),
        # The night the clocks go forward: still the callee's 08:00, now in PDT.
        (datetime(2025, 3, 8, 20, 30, tzinfo=LA), "now", "tomorrow between 8 AM and 9 AM"),
    ],
)
def test_the_promise_follows_the_sla_and_the_callees_hours(
    app: Flask, now: datetime, preference: str, promise: str
) -> None:
    """The high-priority SLA (60 minutes) inside the callee's 08:00-21:00, said their way."""
    session = make_session(phone=CUSTOMER, preference=preference, asked_for_human=True)
    assert person.callback_promise(session, now=now) == promise


def test_the_whisper_route_is_signed_and_never_fails(app: Flask, client: Any) -> None:
    """Unsigned: 403. Unknown or nonsense session: a short generic whisper, still TwiML."""
    assert client.post("/twilio/voice/whisper?session=1").status_code == 403
    for query in ("session=99999", "session=abc", "session=" + "9" * 30):
        response = twilio_post(client, app, f"/twilio/voice/whisper?{query}", {})
        assert response.status_code == 200
        assert "A survey caller asked to speak with a person" in response.get_data(as_text=True)
