"""Replies no caller means as a score: numbers past what a float holds, written in exponent
form or with endless decimals, and replies built to make the reader slow. Each is no answer
(the question is asked again), read in time linear in its length; on a call too (by text:
tests/texts/test_unreadable_reply.py)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask

from core.models import QuestionKind
from core.twiml import APOLOGY
from replies import answers
from replies.answers import Reading, read_speech
from tests.conftest import twilio_post
from tests.test_edges import START

NOT_SCORES = [
    "9" * 400,  # float() is inf: int(inf) raised OverflowError
    "9" * 5_000,  # past the digits int() takes from a string
    "1e400",
    "1e3",
    "0." + "9" * 30,  # float() rounds it up to 1
    "8.0000000000000000001",
    "one hundred and " * 125 + "one",
    "a million " * 200,
]
# Replies at the survey's 2,000-character limit that made the reader quadratic or worse.
SLOW_BEFORE = ["nine " * 400, "one hundred and " * 24 + "one", "9" * 2_000, "no nine " * 250]
CPU_BUDGET = 0.1  # seconds; each reads in about 0.01 now (0.4 s to minutes before)


@pytest.mark.parametrize("kind", [QuestionKind.NPS, QuestionKind.CSAT])
@pytest.mark.parametrize("speech", NOT_SCORES, ids=lambda s: f"{s[:12]}..{len(s)}")
def test_a_number_off_the_scale_or_not_plain_is_no_answer(kind: QuestionKind, speech: str) -> None:
    """Such a reply is read as no answer, so the caller is asked again."""
    assert read_speech(kind, speech) == Reading()


@pytest.mark.parametrize("speech", SLOW_BEFORE, ids=lambda s: f"{s[:12]}..{len(s)}")
def test_a_long_reply_is_read_quickly(speech: str) -> None:
    """A reply at the 2,000-character limit takes well under a tenth of a second of CPU."""
    started = time.process_time()
    read_speech(QuestionKind.NPS, speech)
    assert time.process_time() - started < CPU_BUDGET


def test_a_reply_the_reader_fails_on_is_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault in the reader is no answer rather than an error that ends the call."""

    def breaks(*args: object, **kwargs: object) -> int | None:
        raise ValueError("a bug in the reader")

    monkeypatch.setattr(answers, "read_score", breaks)
    assert read_speech(QuestionKind.NPS, "eight") == Reading()


def says(response: Any) -> str:
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    return " ".join(say.text or "" for say in root.iter("Say"))


def test_a_spoken_400_digit_number_is_asked_again(app: Flask, client: Any) -> None:
    """By voice the caller hears the question again, not the apology that ends the survey."""
    twilio_post(client, app, "/twilio/voice/survey", START)
    response = twilio_post(
        client, app, "/twilio/voice/survey?step=q&n=0&try=1", START | {"SpeechResult": "9" * 400}
    )
    heard = says(response)
    assert "didn't catch that" in heard and APOLOGY not in heard
