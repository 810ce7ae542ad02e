"""The terminal driver prints prompts and turns typed lines or scripts into actions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from simulator.actions import HangUp, Press, RecordAudio, Silent, Speak, parse_script
from simulator.terminal import run_terminal_call
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, SURVEY_NUMBER
from tests.simulator.twiml_app import twiml

SURVEY = twiml(
    '<Gather numDigits="1" action="/q2"><Say>Rate us from 1 to 5</Say></Gather>',
)
Q2 = twiml('<Gather input="speech" action="/bye"><Say>Anything else?</Say></Gather>')
BYE = twiml("<Say>Thank you</Say>")


def test_parse_script_reads_every_action_kind():
    """parse_script understands keys, speech, recordings, silence and hangup."""
    assert parse_script("5,say yes please,record:c.wav,,hangup,12#") == [
        Press("5"),
        Speak("yes please"),
        RecordAudio(Path("c.wav")),
        Silent(),
        HangUp(),
        Press("12#"),
    ]


def test_parse_script_rejects_nonsense():
    """An unknown action is an error, not a silent guess."""
    with pytest.raises(ValueError, match="not a caller action"):
        parse_script("5,dance")


def test_interactive_call_prints_prompts_and_reads_lines(fake, twiml_app, app_url):
    """Typed lines answer each wait; prompts and the outcome are printed."""
    twiml_app.documents.update({"/voice": SURVEY, "/q2": Q2, "/bye": BYE})
    output = io.StringIO()
    result = run_terminal_call(
        f"{app_url}/voice",
        sink=fake,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=CALLER,
        to=SURVEY_NUMBER,
        input=io.StringIO("oops\n4\nsay more coffee\n"),
        output=output,
    )
    assert twiml_app.to("/bye")[0].value("SpeechResult") == "more coffee"
    assert "Rate us from 1 to 5" in output.getvalue()
    assert "not a caller action" in output.getvalue()
    assert result.heard[-1] == "Thank you"


def test_end_of_input_hangs_up(fake, twiml_app, app_url):
    """When input ends while the call waits, the caller hangs up."""
    twiml_app.documents["/voice"] = SURVEY
    result = run_terminal_call(
        f"{app_url}/voice",
        sink=fake,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=CALLER,
        to=SURVEY_NUMBER,
        input=io.StringIO(""),
        output=io.StringIO(),
    )
    assert result.status == "completed"
    assert twiml_app.paths() == ["/voice"]


def test_script_runs_without_input(fake, twiml_app, app_url):
    """A script drives the call non-interactively."""
    twiml_app.documents.update({"/voice": SURVEY, "/q2": Q2, "/bye": BYE})
    output = io.StringIO()
    run_terminal_call(
        f"{app_url}/voice",
        sink=fake,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=CALLER,
        to=SURVEY_NUMBER,
        script=parse_script("2,say fine"),
        output=output,
    )
    assert twiml_app.to("/q2")[0].value("Digits") == "2"
    assert "Call ended: completed" in output.getvalue()
