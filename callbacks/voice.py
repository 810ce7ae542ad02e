"""Twilio webhooks for click-to-call, under /twilio/voice/callbacks (signed, no CSRF)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from callbacks import dialing
from core.db import db
from core.twilio_auth import twilio_signed
from core.twiml import say_and_hang_up, twiml

log = logging.getLogger(__name__)
bp = Blueprint("callbacks_voice", __name__, url_prefix="/twilio/voice/callbacks")

SORRY = "Sorry, this callback cannot be connected right now. Goodbye."


def goodbye(text: str = SORRY) -> Response:
    return say_and_hang_up(text)


@bp.post("/attempts/<int:attempt_id>/bridge")
@twilio_signed
def bridge(attempt_id: int) -> Response:
    """The agent answered: tell them who it is, then dial the customer from our number."""
    try:
        attempt = dialing.get_attempt(attempt_id)
        if attempt is None:
            return goodbye()
        return twiml(dialing.bridge_twiml(attempt))
    except Exception:  # the agent must never hear Twilio's application error
        db.session.rollback()
        log.exception("bridge for attempt %s failed", attempt_id)
        return goodbye()


@bp.post("/attempts/<int:attempt_id>/agent-status")
@twilio_signed
def agent_status(attempt_id: int) -> Response:
    attempt = dialing.get_attempt(attempt_id)
    if attempt is None:
        return Response("unknown attempt", status=404, mimetype="text/plain")
    dialing.agent_leg_status(attempt, request.form.get("CallStatus", ""))
    return Response(status=204)


@bp.post("/attempts/<int:attempt_id>/customer-status")
@twilio_signed
def customer_status(attempt_id: int) -> Response:
    attempt = dialing.get_attempt(attempt_id)
    if attempt is None:
        return Response("unknown attempt", status=404, mimetype="text/plain")
    dialing.customer_leg_status(
        attempt,
        request.form.get("CallStatus", ""),
        request.form.get("CallSid"),
        request.form.get("CallDuration"),
    )
    return Response(status=204)


@bp.post("/attempts/<int:attempt_id>/dial-ended")
@twilio_signed
def dial_ended(attempt_id: int) -> Response:
    """The <Dial> action: the customer's leg ended; the agent's leg hangs up."""
    attempt = dialing.get_attempt(attempt_id)
    if attempt is not None:
        try:
            dialing.customer_leg_status(
                attempt,
                request.form.get("DialCallStatus", ""),
                request.form.get("DialCallSid"),
                request.form.get("DialCallDuration"),
            )
        except Exception:
            db.session.rollback()
            log.exception("dial action for attempt %s failed", attempt_id)
    response = VoiceResponse()
    if request.form.get("DialCallStatus") != "completed":
        response.say("The customer did not answer. Record the outcome in the console.")
    response.hangup()
    return twiml(response)
