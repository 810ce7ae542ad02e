"""The whisper route (``/twilio/voice/whisper``): a query we never gave Twilio is the
client's fault, answered with the generic whisper and logged as one warning, not a failure."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask

from ivr import whisper
from tests.conftest import twilio_post

BAD_QUERIES = [
    "session=abc",
    "session=%C2%B2",  # "²": a digit to str.isdigit, not to int()
    "session=" + "9" * 30,  # past any id
    "session=0",
    "session=1%00",  # a NUL
    "session=" + "1" * 1_001,  # longer than any parameter of ours
    "session=1&" + "x" * 40 + "=1",  # a name no URL of ours has
    "",  # no session at all
]


def path(query: str) -> str:
    return f"{whisper.PATH}?{query}" if query else whisper.PATH


def said(response: Any) -> list[str]:
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    return [say.text or "" for say in root.iter("Say")]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_a_bad_query_is_one_warning_and_the_agent_still_hears_the_whisper(
    app: Flask, client: Any, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    """Signed, bad session: 200 generic whisper, one WARNING line naming it, no traceback."""
    with caplog.at_level(logging.INFO):
        response = twilio_post(client, app, path(query), {})
    assert response.status_code == 200
    assert said(response) == [whisper.FALLBACK]
    ours = [r for r in caplog.records if r.name.startswith("ivr")]
    assert [(r.levelno, r.exc_info) for r in ours] == [(logging.WARNING, None)]
    assert "session" in ours[0].getMessage() or "not a parameter" in ours[0].getMessage()


def test_an_unknown_session_is_the_generic_whisper_without_a_warning(
    app: Flask, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A well-formed id that names no session (deleted since): generic whisper, nothing logged."""
    with caplog.at_level(logging.INFO):
        response = twilio_post(client, app, path("session=99999"), {})
    assert response.status_code == 200
    assert said(response) == [whisper.FALLBACK]
    assert [r for r in caplog.records if r.name.startswith("ivr")] == []
