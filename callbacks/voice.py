"""Twilio webhooks for click-to-call, under /twilio/voice/callbacks (signed, no CSRF)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError
from twilio.twiml.voice_response import VoiceResponse

from callbacks import dialing
from callbacks.models import CallbackAttempt
from core.db import db
from core.twilio_auth import twilio_signed
from core.twilio_params import BadParameter, clean, db_id
from core.twiml import say_and_hang_up, twiml

log = logging.getLogger(__name__)
bp = Blueprint("callbacks_voice", __name__, url_prefix="/twilio/voice/callbacks")

SORRY = "Sorry, this callback cannot be connected right now. Goodbye."


def goodbye(text: str = SORRY) -> Response:
    return say_and_hang_up(text)


def attempt_for(attempt_id: int) -> CallbackAttempt | None:
    """The attempt named in the URL; an id no INTEGER column can hold names none."""
    return dialing.get_attempt(attempt_id) if db_id(attempt_id) else None


def unknown_attempt() -> Response:
    return Response("unknown attempt", status=404, mimetype="text/plain")


@bp.post("/attempts/<int:attempt_id>/bridge")
@twilio_signed
def bridge(attempt_id: int) -> Response:
    """The agent answered: tell them who it is, then dial the customer from our number."""
    try:
        attempt = attempt_for(attempt_id)
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
    try:
        params = clean(request.form, ("CallStatus",))
    except BadParameter as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    attempt = attempt_for(attempt_id)
    if attempt is None:
        return unknown_attempt()
    dialing.agent_leg_status(attempt, params["CallStatus"])
    return Response(status=204)


@bp.post("/attempts/<int:attempt_id>/customer-status")
@twilio_signed
def customer_status(attempt_id: int) -> Response:
    try:
        params = clean(request.form, ("CallStatus",))
    except BadParameter as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    attempt = attempt_for(attempt_id)
    if attempt is None:
        return unknown_attempt()
    try:
        dialing.customer_leg_status(
            attempt, params["CallStatus"], params.get("CallSid") or None, params.get("CallDuration")
        )
    except IntegrityError:  # that CallSid is already another attempt's customer leg
        db.session.rollback()
        return Response("CallSid belongs to another attempt", status=409, mimetype="text/plain")
    return Response(status=204)


@bp.post("/attempts/<int:attempt_id>/dial-ended")
@twilio_signed
def dial_ended(attempt_id: int) -> Response:
    """The <Dial> action: the customer's leg ended; the agent's leg hangs up."""
    try:
        params = clean(request.form)
        attempt = attempt_for(attempt_id)
        if attempt is not None:
            dialing.customer_leg_status(
                attempt,
                params.get("DialCallStatus", ""),
                params.get("DialCallSid") or None,
                params.get("DialCallDuration"),
            )
    except BadParameter as exc:
        params = {}
        log.warning("dial action for attempt %s refused: %s", attempt_id, exc)
    except Exception:  # the agent still gets TwiML, whatever failed
        db.session.rollback()
        params = {}
        log.exception("dial action for attempt %s failed", attempt_id)
    response = VoiceResponse()
    if params.get("DialCallStatus") != "completed":
        response.say("The customer did not answer. Record the outcome in the console.")
    response.hangup()
    return twiml(response)
