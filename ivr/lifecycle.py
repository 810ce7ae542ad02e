"""A call's life: status callbacks that only move forward, and the end of a survey."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from twilio.twiml.voice_response import VoiceResponse

from callbacks import evaluation
from core import events
from core.db import db, utcnow
from core.models import CallSession, CallStatus, SurveyOutcome

log = logging.getLogger(__name__)


def call_is_over(params: Mapping[str, str]) -> bool:
    """True when a request says the call has ended (Twilio still posts ``<Dial>`` and
    ``<Record>`` actions after the caller hangs up)."""
    try:
        return CallStatus(params.get("CallStatus", "")).is_final
    except ValueError:
        return False


def close_unsurveyed(session: CallSession, params: Mapping[str, str]) -> VoiceResponse:
    """The survey was asked to start on a call that is already over: survey nobody.

    The session ends *not started*: neither left in progress nor counted as a partial
    answer. Twilio never plays the reply; it hangs up to be explicit.
    """
    apply_status(session, params)
    response = VoiceResponse()
    response.hangup()
    return response


def apply_status(session: CallSession, params: Mapping[str, str]) -> bool:
    """Apply one status callback; False when it was a duplicate or arrived too late to matter."""
    try:
        status = CallStatus(params.get("CallStatus", ""))
    except ValueError:
        raise ValueError(f"unknown CallStatus {params.get('CallStatus')!r}") from None
    fresh = events.record(
        "call.status",
        session=session,
        data={
            "status": status.value,
            "duration": params.get("CallDuration"),
            "sequence": params.get("SequenceNumber"),
        },
        dedupe_key=f"call-status:{session.call_sid}:{status.value}",
    )
    if not fresh or status.rank <= session.status.rank:
        db.session.commit()
        return False
    session.status = status
    if status is CallStatus.IN_PROGRESS and session.answered_at is None:
        session.answered_at = utcnow()
    ended = status.is_final
    if ended:
        session.ended_at = utcnow()
        duration = params.get("CallDuration", "")
        session.duration_seconds = int(duration) if duration.isdigit() else None
        if session.outcome is SurveyOutcome.IN_PROGRESS:
            session.outcome = SurveyOutcome.PARTIAL  # hung up mid-survey: keep what was said
    db.session.commit()
    if ended and session.outcome in (SurveyOutcome.PARTIAL, SurveyOutcome.COMPLETED):
        survey_finished(session)
    return True


def survey_finished(session: CallSession) -> None:
    """Tell the callback rules, after the session's state is committed.

    A failure must never reach the caller; the callbacks sweep catches the session later.
    """
    try:
        evaluation.on_survey_finished(session.id)
    except Exception:
        db.session.rollback()
        log.exception("could not hand session %s to the callback rules", session.id)
