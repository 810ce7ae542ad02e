"""TwiML responses every voice webhook shares: built with the twilio library, never by hand."""

from __future__ import annotations

from flask import Response
from twilio.twiml.voice_response import VoiceResponse

APOLOGY = (
    "We're sorry, something went wrong on our side and we can't continue the survey "
    "right now. Thank you for your time. Goodbye."
)


def twiml(response: VoiceResponse) -> Response:
    return twiml_text(str(response))


def twiml_text(text: str) -> Response:
    """A reply already rendered from a VoiceResponse (``ivr.hot_path`` keeps them)."""
    return Response(text, mimetype="text/xml")


def say_and_hang_up(text: str) -> Response:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return twiml(response)


def apology() -> Response:
    return say_and_hang_up(APOLOGY)
