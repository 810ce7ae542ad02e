"""Twilio voice webhooks: parse the request, call one domain function, return TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from core import events
from core.db import db
from core.models import CallSession
from core.twilio_auth import twilio_signed
from core.twiml import apology, twiml
from ivr import lifecycle, sessions, survey
from ivr.turn import CallInput
from transcription import pipeline

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")


def call_input() -> CallInput:
    form = request.form
    confidence = form.get("Confidence")
    return CallInput(
        call_sid=form.get("CallSid", ""),
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        direction=form.get("Direction", "inbound"),
        digits=form.get("Digits", "").strip(),
        speech=form.get("SpeechResult", "").strip(),
        confidence=float(confidence) if confidence else None,
        args=request.args.to_dict(),
        form=form.to_dict(),
    )


def session_for_callback() -> CallSession | None:
    sid = request.form.get("CallSid", "")
    if not sid:
        return None
    return sessions.ensure_session(
        sid,
        request.form.get("From", ""),
        request.form.get("To", ""),
        request.form.get("Direction", "outbound-api"),
    )


@bp.post("/survey")
@twilio_signed
def survey_step() -> Response:
    inp = call_input()
    if not inp.call_sid:
        return Response("CallSid is required", status=400, mimetype="text/plain")
    try:
        if inp.step == "start" and lifecycle.call_is_over(inp.form):
            # Twilio still posts a <Dial action> after the caller hung up on the agent.
            session = sessions.ensure_session(
                inp.call_sid, inp.from_number, inp.to_number, inp.direction
            )
            return twiml(lifecycle.close_unsurveyed(session, inp.form))
        return twiml(survey.handle(inp))
    except Exception:
        # The caller must never hear Twilio's "application error": apologise and log.
        db.session.rollback()
        log.exception("survey step %s failed for %s", inp.step, inp.call_sid)
        return apology()


@bp.post("/status")
@twilio_signed
def status_callback() -> Response:
    session = session_for_callback()
    if session is None:
        return Response("CallSid is required", status=400, mimetype="text/plain")
    try:
        lifecycle.apply_status(session, request.form.to_dict())
    except ValueError as exc:
        db.session.rollback()
        return Response(str(exc), status=400, mimetype="text/plain")
    return Response(status=204)


@bp.post("/recording")
@twilio_signed
def recording_callback() -> Response:
    session = session_for_callback()
    if session is None or not request.form.get("RecordingSid"):
        return Response("CallSid and RecordingSid are required", status=400, mimetype="text/plain")
    pipeline.on_status_callback(session, request.form.to_dict())
    return Response(status=204)


@bp.post("/fallback")
@twilio_signed
def fallback() -> Response:
    """Twilio calls this when our voice URL failed: apologise, keep what was stored."""
    session = session_for_callback()
    if session is not None:
        events.record(
            "call.fallback",
            session=session,
            data={
                "error_code": request.form.get("ErrorCode"),
                "error_url": request.form.get("ErrorUrl"),
            },
        )
        db.session.commit()
    log.error(
        "Twilio used the fallback URL: %s %s",
        request.form.get("ErrorCode"),
        request.form.get("ErrorUrl"),
    )
    return apology()
