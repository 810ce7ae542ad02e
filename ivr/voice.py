"""Twilio voice webhooks: parse the request, call one domain function, return TwiML."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, Response, request

from core import events
from core.db import db
from core.models import CallSession
from core.twilio_auth import twilio_signed
from core.twilio_params import BadParameter, clean, clean_args
from core.twiml import apology, twiml
from ivr import lifecycle, sessions, survey, whisper
from ivr.turn import CallInput
from transcription import pipeline

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")


def call_input(params: Mapping[str, str], args: Mapping[str, str]) -> CallInput:
    """The survey's view of a request whose fields ``clean`` has already checked."""
    confidence = params.get("Confidence")
    return CallInput(
        call_sid=params["CallSid"],
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        direction=params.get("Direction", "inbound"),
        digits=params.get("Digits", "").strip(),
        speech=params.get("SpeechResult", "").strip(),
        confidence=float(confidence) if confidence else None,
        args=args,
        form=params,
    )


def bad_request(exc: BadParameter) -> Response:
    return Response(str(exc), status=400, mimetype="text/plain")


def session_for_callback(params: Mapping[str, str]) -> CallSession:
    return sessions.ensure_session(
        params["CallSid"],
        params.get("From", ""),
        params.get("To", ""),
        params.get("Direction", "outbound-api"),
    )


@bp.post("/survey")
@twilio_signed
def survey_step() -> Response:
    try:
        inp = call_input(clean(request.form, ("CallSid",)), clean_args(request.args))
    except BadParameter as exc:
        # Not what Twilio sends; still TwiML, so nobody on the line hears an application error.
        log.warning("survey step refused: %s", exc)
        return apology()
    try:
        if inp.step == "start" and lifecycle.call_is_over(inp.form):
            # Twilio still posts a <Dial action> after the caller hung up on the agent.
            session = sessions.ensure_session(
                inp.call_sid, inp.from_number, inp.to_number, inp.direction
            )
            return twiml(lifecycle.close_unsurveyed(session, inp.form))
        # The hot path's turns were served before Flask (``ivr.fast_lane``) when it could.
        return twiml(survey.handle(inp))
    except Exception:
        # The caller must never hear Twilio's "application error": apologise and log.
        db.session.rollback()
        log.exception("survey step %s failed for %s", inp.step, inp.call_sid)
        return apology()


@bp.post("/status")
@twilio_signed
def status_callback() -> Response:
    try:
        params = clean(request.form, ("CallSid", "CallStatus"))
    except BadParameter as exc:
        return bad_request(exc)
    lifecycle.apply_status(session_for_callback(params), params)
    return Response(status=204)


@bp.post("/recording")
@twilio_signed
def recording_callback() -> Response:
    try:
        params = clean(request.form, ("CallSid", "RecordingSid"))
    except BadParameter as exc:
        return bad_request(exc)
    pipeline.on_status_callback(session_for_callback(params), params)
    return Response(status=204)


@bp.post("/whisper")
@twilio_signed
def whisper_for_agent() -> Response:
    """The warm transfer's ``<Number url>``: played to the agent before the caller is bridged.

    Always TwiML: if anything fails the agent hears a short generic whisper and is still
    put through, rather than Twilio's application error with the caller on hold.
    """
    try:
        session_id = whisper.session_arg(request.args)
    except BadParameter as exc:
        # Not a URL we gave Twilio: the client's fault, one line; the agent is put through.
        log.warning("whisper refused: %s", exc)
        return twiml(whisper.fallback())
    try:
        return twiml(whisper.twiml(session_id))
    except Exception:
        db.session.rollback()
        log.exception("whisper for %s failed", request.args.get("session"))
        return twiml(whisper.fallback())


@bp.post("/fallback")
@twilio_signed
def fallback() -> Response:
    """Twilio calls this when our voice URL failed: apologise, keep what can be stored."""
    try:
        params = clean(request.form)
    except BadParameter as exc:
        log.warning("fallback request with %s", exc)
        return apology()
    log.error(
        "Twilio used the fallback URL: %s %s", params.get("ErrorCode"), params.get("ErrorUrl")
    )
    if params.get("CallSid"):
        try:
            events.record(
                "call.fallback",
                session=session_for_callback(params),
                data={"error_code": params.get("ErrorCode"), "error_url": params.get("ErrorUrl")},
            )
            db.session.commit()
        except Exception:  # the database may be why we are here: the apology still plays
            db.session.rollback()
            log.exception("could not note the fallback for %s", params["CallSid"])
    return apology()
