"""`flask answers parse` on input the survey never reads, or that the reader fails on: a
JSON line with the reason for that reply, the other replies still read, exit status 1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from core.twilio_params import MAX_SPEECH
from ivr import cli_answers
from replies.answers import Reading


def parse(app: Flask, text: str) -> tuple[int, list[dict[str, Any]]]:
    result = app.test_cli_runner().invoke(args=["answers", "parse", "--kind", "nps"], input=text)
    return result.exit_code, [json.loads(line) for line in result.output.splitlines()]


def test_a_reply_longer_than_the_survey_takes_is_refused_not_read(app: Flask) -> None:
    """A line over Twilio's SpeechResult bound gets an error: the survey refuses such a reply."""
    code, lines = parse(app, "nine " * (MAX_SPEECH // 5 + 1) + "\nnine\n")
    assert code == 1
    assert lines[0]["value"] is None and str(MAX_SPEECH) in lines[0]["error"]
    assert lines[1] == {"speech": "nine", "value": 9, "intent": None}


def test_a_reply_the_reader_fails_on_gets_an_error_and_the_rest_are_read(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One reply that breaks the reader is reported on its line; the next is still read."""
    real = cli_answers.read_speech

    def breaks_on_nine(kind: Any, speech: str) -> Reading:
        if speech == "ninety nine":
            raise OverflowError("cannot convert float infinity to integer")
        return real(kind, speech)

    monkeypatch.setattr(cli_answers, "read_speech", breaks_on_nine)
    code, lines = parse(app, "ninety nine\nten\n")
    assert code == 1
    assert lines[0]["value"] is None and "OverflowError" in lines[0]["error"]
    assert lines[1] == {"speech": "ten", "value": 10, "intent": None}
