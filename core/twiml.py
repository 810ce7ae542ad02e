"""TwiML responses every voice webhook shares: built with the twilio library, never by hand."""

from __future__ import annotations

from functools import cache

from flask import Response
from twilio.twiml.voice_response import VoiceResponse

APOLOGY = (
    "We're sorry, something went wrong on our side and we can't continue the survey "
    "right now. Thank you for your time. Goodbye."
)
# What Flask's Response(text, mimetype="text/xml") sends; ``ivr.fast_lane`` sends it too.
TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"


def twiml(response: VoiceResponse) -> Response:
    return twiml_text(str(response))


def twiml_text(text: str) -> Response:
    """A reply already rendered from a VoiceResponse (``ivr.hot_path`` keeps them)."""
    return Response(text, mimetype="text/xml")


def said_then_hung_up(text: str) -> str:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return str(response)


def say_and_hang_up(text: str) -> Response:
    return twiml_text(said_then_hung_up(text))


@cache
def apology_text() -> str:
    """The apology's TwiML, rendered once: it never changes."""
    return said_then_hung_up(APOLOGY)


def apology() -> Response:
    return twiml_text(apology_text())
