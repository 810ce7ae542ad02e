"""The post-call survey on the support call itself: the support line dials an agent with
``<Dial action="/twilio/voice/survey">``, and when the agent hangs up the customer, still
on the line, is surveyed. A customer who hangs up first is not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from twilio.twiml.voice_response import Dial, VoiceResponse

from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN
from core.db import db
from core.models import CallSession, CallStatus, SurveyOutcome
from simulator.actions import Action, Press
from simulator.caller import CallerSimulator, CallResult, DialOutcome, DialRequest
from simulator.fake_state import FakeTwilio
from simulator.testing import serve_app
from tests.conftest import API_TOKEN, COMPANY_NUMBER, CUSTOMER
from tests.simulator.twiml_app import TwimlApp, create_twiml_app

AGENT = "+14155550142"
CONNECTING = "Connecting you to an agent."
GREETING = "Hello! Thanks for calling us today."
GOODBYE = "Thank you for your feedback. Goodbye."
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def support_line(survey_url: str) -> Iterator[str]:
    """The support line's own TwiML app: it bridges the caller to an agent, with the survey
    as the agent leg's action (as README's Twilio setup says)."""
    line = TwimlApp()
    response = VoiceResponse()
    response.say(CONNECTING)
    dial = Dial(action=survey_url, method="POST", caller_id=COMPANY_NUMBER, timeout=20)
    dial.number(AGENT)
    response.append(dial)
    line.documents["/support"] = str(response)
    with serve_app(create_twiml_app(line)) as url:
        yield f"{url}/support"


def agent_talks(seconds: int, *, caller_hangs_up: bool = False) -> Callable[..., DialOutcome]:
    def answer(request: DialRequest) -> DialOutcome:
        assert request.number == AGENT
        return DialOutcome("answered", duration=seconds, caller_hung_up=caller_hangs_up)

    return answer


def support_call(
    fake_twilio: FakeTwilio,
    support_line: str,
    status_url: str | None,
    actions: list[Action],
    *,
    caller_hangs_up: bool = False,
) -> CallResult:
    """A customer calls the support line, talks to an agent for four minutes, then acts."""
    simulator = CallerSimulator(
        account_sid=LOCAL_ACCOUNT_SID,
        auth_token=LOCAL_AUTH_TOKEN,
        recordings=fake_twilio,
        dial_handler=agent_talks(240, caller_hangs_up=caller_hangs_up),
    )
    call = simulator.call(
        support_line, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url
    )
    return call.run(actions)


def session_of(result: CallResult) -> CallSession | None:
    db.session.expire_all()
    return db.session.scalar(db.select(CallSession).where(CallSession.call_sid == result.sid))


def open_callbacks(client: Any) -> list[dict[str, Any]]:
    callbacks: list[dict[str, Any]] = client.get("/api/callbacks", headers=AUTH).get_json()[
        "callbacks"
    ]
    return callbacks


def test_agent_hanging_up_starts_the_survey_on_the_same_call(
    app: Flask, fake_twilio: FakeTwilio, support_line: str, status_url: str
) -> None:
    """After the agent leaves, the caller hears the survey and their answers are kept."""
    result = support_call(
        fake_twilio,
        support_line,
        status_url,
        [Press("9#"), Press("4"), Press("1"), Press("2"), Press("2")],
    )
    assert result.heard[0] == CONNECTING
    assert result.heard[1].startswith(GREETING)
    assert GOODBYE in result.heard
    session = session_of(result)
    assert session is not None and session.customer_number == CUSTOMER
    assert {a.question.key: a.value for a in session.answers} == {
        "nps": 9,
        "csat": 4,
        "resolved": 1,
    }
    assert (session.outcome, session.status) == (SurveyOutcome.COMPLETED, CallStatus.COMPLETED)
    assert result.errors == []


def test_low_score_after_the_agent_leg_opens_a_callback(
    app: Flask, client: Any, fake_twilio: FakeTwilio, support_line: str, status_url: str
) -> None:
    """A caller unhappy with the agent they just spoke to is called back."""
    result = support_call(
        fake_twilio, support_line, status_url, [Press("2#"), Press("1"), Press("2"), Press("2")]
    )
    [task] = open_callbacks(client)
    assert task["phone"] == CUSTOMER
    assert session_of(result) is not None


@pytest.mark.parametrize("status_callback", [True, False], ids=["status-callback", "none"])
def test_caller_hanging_up_first_is_not_surveyed(
    app: Flask,
    client: Any,
    fake_twilio: FakeTwilio,
    support_line: str,
    status_url: str,
    status_callback: bool,
) -> None:
    """The caller leaves before the agent: no survey, and the call is closed, not left open."""
    result = support_call(
        fake_twilio,
        support_line,
        status_url if status_callback else None,
        [Press("9#")],
        caller_hangs_up=True,
    )
    assert result.heard == [CONNECTING]
    session = session_of(result)
    assert session is not None
    assert session.outcome is SurveyOutcome.NOT_STARTED
    assert session.status is CallStatus.COMPLETED and session.ended_at is not None
    assert session.answers == []
    assert open_callbacks(client) == []
