"""Hypothesis posts signed random forms to /twilio/sms and /twilio/sms/status.

Twilio-shaped values (SM/MM sids, E.164 numbers, keywords, replies, statuses) mixed with
nasty ones (control characters, huge numbers, long text, fields Twilio never sends). No
answer may be a 5xx: an incoming text gets TwiML (perhaps empty) or a short 400; a status
callback 204 or a short 400.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.twilio_params import MESSAGE_STATUSES
from tests.conftest import COMPANY_NUMBER, CUSTOMER, twilio_post
from tests.texts.conftest import permit

EXAMPLES = 40
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print(f"\nSMS fuzz: {TALLY['requests']} signed requests, {TALLY['5xx']} answered 5xx")


SIDS = st.sampled_from(["SM" + f"{n:032x}" for n in range(1, 4)]) | st.from_regex(
    r"\A(SM|MM)[0-9a-f]{32}\Z"
)
NASTY = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["\x00", "\x1b[31m", " ", "null", "SMnope", "+", "1e309"]),
    st.text(max_size=40),
    st.text(min_size=1_600, max_size=2_500),
    st.just(""),
)
BODIES = st.sampled_from(
    ["STOP", "start", " HELP ", "YES", "no", "9", "ten out of ten", "call me", "skip", "END"]
) | st.text(max_size=300)
SHAPED: dict[str, st.SearchStrategy[str]] = {
    "MessageSid": SIDS,
    "AccountSid": st.just("AC" + "0" * 32),
    "From": st.sampled_from([CUSTOMER, "+14155550124", "+442071838750", "12345"]),
    "To": st.just(COMPANY_NUMBER),
    "Body": BODIES,
    "NumMedia": st.sampled_from(["0", "1"]),
    "MessageStatus": st.sampled_from(MESSAGE_STATUSES),
    "ErrorCode": st.sampled_from(["30003", "21610", ""]),
}
FORMS = st.fixed_dictionaries(
    {"MessageSid": SIDS}, optional={k: v for k, v in SHAPED.items() if k != "MessageSid"}
) | st.fixed_dictionaries({}, optional={k: v | NASTY for k, v in SHAPED.items()})


def check(response: Any, route: str) -> None:
    TALLY["requests"] += 1
    TALLY["5xx"] += response.status_code >= 500
    assert response.status_code < 500
    if response.status_code == 400:
        # short: the field, why, and the allowed values (13 message statuses at most)
        assert response.mimetype == "text/plain" and len(response.get_data(as_text=True)) < 600
    elif route == "/twilio/sms":
        assert response.status_code == 200 and response.mimetype == "text/xml"
        assert ET.fromstring(response.get_data(as_text=True)).tag == "Response"  # noqa: S314
    else:
        assert response.status_code == 204


@pytest.mark.parametrize("route", ["/twilio/sms", "/twilio/sms/status"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(form=FORMS)
def test_signed_random_forms_never_get_a_5xx(
    app: Flask, client: Any, route: str, form: dict[str, str]
) -> None:
    """Whatever Twilio (or someone with the token) posts, the answer is never a 5xx."""
    if not TALLY[route]:
        permit()  # a number that may be texted, so replies reach the survey paths
    TALLY[route] += 1
    check(twilio_post(client, app, route, form), route)
