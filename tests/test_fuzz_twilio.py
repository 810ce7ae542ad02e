"""Hypothesis posts signed random forms to every /twilio/voice route.

Each form mixes Twilio-shaped values (real SIDs, E.164 numbers, statuses) with huge and
negative integers, long strings, unicode, control characters and missing fields, and is
signed like Twilio signs it. No answer may be a 5xx; a voice route (whose answer a caller or
agent hears) always answers TwiML; a status callback answers 204 or a short 4xx text.
Bounded examples keep the module well under a minute on either database.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import DBAPIError

from callbacks.models import CallbackAttempt, TaskState
from core.db import db
from core.twilio_params import CALL_STATUSES, DIAL_STATUSES, DIRECTIONS, RECORDING_STATUSES
from tests.callbacks.conftest import AGENT_PHONE, make_agent, make_task
from tests.conftest import twilio_post

EXAMPLES = 40  # per route: ~400 requests in all
TALLY: Counter[str] = Counter()
HUGE_ID = "99999999999999999999"


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print(f"\nTwilio fuzz: {TALLY['requests']} signed requests, {TALLY['5xx']} answered 5xx")


def sids(prefix: str) -> st.SearchStrategy[str]:
    # A small pool as well, so the same call or recording comes back, as with Twilio.
    pool = [prefix + f"{n:032x}" for n in range(1, 4)]
    return st.sampled_from(pool) | st.from_regex(rf"\A{prefix}[0-9a-f]{{32}}\Z")


NUMBERS = st.sampled_from(["+14155550123", "+15005550006", "+442071838750", "anonymous"])
NASTY = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from([HUGE_ID, "-1", "1e309", "nan", "inf", "0x1F", "²", "\x00", " ", "null"]),
    st.text(max_size=40),
    st.text(min_size=60, max_size=2_500),
    st.floats().map(str),
    st.just(""),
)
TWILIO_SHAPED: dict[str, st.SearchStrategy[str]] = {
    "CallSid": sids("CA"),
    "AccountSid": sids("AC"),
    "ParentCallSid": sids("CA"),
    "DialCallSid": sids("CA"),
    "RecordingSid": sids("RE"),
    "From": NUMBERS,
    "To": NUMBERS,
    "Direction": st.sampled_from(DIRECTIONS),
    "CallStatus": st.sampled_from(CALL_STATUSES),
    "DialCallStatus": st.sampled_from(DIAL_STATUSES),
    "RecordingStatus": st.sampled_from(RECORDING_STATUSES),
    "CallDuration": st.integers(0, 100_000).map(str),
    "DialCallDuration": st.integers(0, 100_000).map(str),
    "RecordingDuration": st.integers(0, 100_000).map(str),
    "SequenceNumber": st.integers(0, 2**40).map(str),
    "Digits": st.from_regex(r"\A[0-9*#]{0,40}\Z") | st.just("hangup"),
    "SpeechResult": st.text(max_size=200),
    "Confidence": st.floats(0, 1).map(str),
    "RecordingUrl": st.just("https://api.twilio.com/2010-04-01/Recordings/RE1"),
    "ErrorCode": st.sampled_from(["11200", "12100", "0"]),
    "ErrorUrl": st.just("https://voice.example.com/twilio/voice/survey"),
}
# Half the forms are all Twilio-shaped (so requests get deep into the survey and the
# attempt state machine); the rest mix in nasty values and fields Twilio never sends.
SHAPED_FORMS = st.fixed_dictionaries(
    {"CallSid": TWILIO_SHAPED["CallSid"]},
    optional={name: shaped for name, shaped in TWILIO_SHAPED.items() if name != "CallSid"},
)
MIXED_FORMS = st.fixed_dictionaries(
    {},
    optional={name: shaped | NASTY for name, shaped in TWILIO_SHAPED.items()},
).flatmap(
    lambda form: st.dictionaries(st.text(min_size=1, max_size=70), NASTY, max_size=2).map(
        lambda extra: {**extra, **form}
    )
)
FORMS = SHAPED_FORMS | MIXED_FORMS
QUERIES = st.fixed_dictionaries(
    {},
    optional={
        "step": st.sampled_from(["start", "q", "check", "optout", "consent", "recorded", "offer"])
        | st.text(max_size=50),
        "n": st.integers(-5, 2**70).map(str) | NASTY,
        "try": st.integers(-5, 2**70).map(str) | NASTY,
        "survey": st.sampled_from(["post-call", "nope"]) | NASTY,
    },
)
VOICE = "voice"  # answers TwiML, always
CALLBACK = "callback"  # answers 204 or a short 4xx text
ROUTES = [
    ("/twilio/voice/survey", VOICE),
    ("/twilio/voice/fallback", VOICE),
    ("/twilio/voice/status", CALLBACK),
    ("/twilio/voice/recording", CALLBACK),
    ("/twilio/voice/callbacks/attempts/{id}/bridge", VOICE),
    ("/twilio/voice/callbacks/attempts/{id}/dial-ended", VOICE),
    ("/twilio/voice/callbacks/attempts/{id}/agent-status", CALLBACK),
    ("/twilio/voice/callbacks/attempts/{id}/customer-status", CALLBACK),
]


@pytest.fixture
def attempt_id(app: Flask) -> int:
    """A click-to-call attempt that is dialing, for the attempt routes to act on."""
    agent, task = make_agent(), make_task()
    task.state, task.claimed_by_id = TaskState.DIALING, agent.id
    attempt = CallbackAttempt(
        task_id=task.id, agent_id=agent.id, to_number=task.phone, agent_number=AGENT_PHONE
    )
    db.session.add(attempt)
    db.session.commit()
    return attempt.id


def check_answer(response: Any, kind: str) -> None:
    assert response.status_code < 500
    if kind == VOICE:
        assert response.status_code == 200 and response.mimetype == "text/xml"
        root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
        assert root.tag == "Response" and len(root) > 0
    elif response.status_code != 204:
        assert response.status_code in (400, 404, 409) and response.mimetype == "text/plain"
        assert 0 < len(response.get_data(as_text=True)) < 300


@pytest.mark.parametrize(("route", "kind"), ROUTES, ids=[r.rsplit("/", 1)[-1] for r, _ in ROUTES])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    form=FORMS,
    query=QUERIES,
    which=st.sampled_from(["ours", "max", "huge"]),
)
def test_signed_random_forms_never_get_a_5xx(
    app: Flask,
    client: Any,
    caplog: pytest.LogCaptureFixture,
    attempt_id: int,
    route: str,
    kind: str,
    form: dict[str, str],
    query: dict[str, str],
    which: str,
) -> None:
    """Any signed form: no 5xx, TwiML on voice routes, 204 or a short 4xx on callbacks."""
    ids = {"ours": str(attempt_id), "max": str(2**31 - 1), "huge": HUGE_ID}
    path = route.replace("{id}", ids[which])
    if route.endswith("/survey") and query:
        path += "?" + urlencode(query)
    caplog.clear()
    response = twilio_post(client, app, path, form)
    db.session.rollback()  # the test's own session sees what the requests committed
    TALLY["requests"] += 1
    TALLY["5xx"] += response.status_code >= 500
    check_answer(response, kind)
    # The apology hides any failure from the caller; a query the database refused is a bug.
    refused = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], DBAPIError)]
    assert not refused, refused[0].getMessage()
