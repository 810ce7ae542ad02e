"""A call's life: status callbacks that only move forward, and the end of a survey."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import case, func
from twilio.twiml.voice_response import VoiceResponse

from callbacks import evaluation, verdicts
from core import events, forward
from core.db import bound, db, utcnow
from core.models import CallSession, CallStatus, SurveyOutcome

log = logging.getLogger(__name__)

# A survey's end is final, whoever reached it first: the caller's goodbye, or a hang-up.
_SURVEY_RANK = {
    SurveyOutcome.NOT_STARTED: 0,
    SurveyOutcome.IN_PROGRESS: 1,
    SurveyOutcome.PARTIAL: 2,
    SurveyOutcome.COMPLETED: 2,
}


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
    moved = fresh and _advance(session, status, params)
    db.session.commit()
    # A completed survey was handed over by the turn that completed it (complete_survey);
    # a partial one by nobody yet: hung up mid-survey (this UPDATE), opted out or transferred.
    if moved and status.is_final and session.outcome is SurveyOutcome.PARTIAL:
        survey_finished(session.id)
    return moved


def complete_survey(session: CallSession) -> bool:
    """The caller reached the goodbye: the survey is completed if, as written, it is still
    under way; True if this turn completed it (and so tells the callback rules, once).

    A hang-up committed meanwhile ended it first (partial) and told them itself; the
    same goodbye served twice completes it once.
    """
    moved = forward.move_forward(
        CallSession.outcome,
        CallSession.id == session.id,
        SurveyOutcome.COMPLETED,
        among=(SurveyOutcome.IN_PROGRESS,),
        rank=_SURVEY_RANK.__getitem__,
    )
    db.session.expire(session, ["outcome"])  # read again if asked: it is the row's now
    return moved


def _advance(session: CallSession, status: CallStatus, params: Mapping[str, str]) -> bool:
    """Move the call to ``status`` in one conditional UPDATE; True if this callback did it.

    The rank is checked by the database against the row as written, not against the copy
    read before: a "ringing" read before a "completed" was committed must not overwrite it
    (Twilio posts status callbacks at once and never again).
    """
    values: dict[str, object] = {}
    if status is CallStatus.IN_PROGRESS:
        values["answered_at"] = func.coalesce(
            CallSession.answered_at, bound(utcnow(), CallSession.answered_at)
        )
    if status.is_final:
        duration = params.get("CallDuration", "")
        values["ended_at"] = bound(utcnow(), CallSession.ended_at)
        values["duration_seconds"] = int(duration) if duration.isdigit() else None
        # Hung up mid-survey: keep what was said (decided on the row as written too).
        values["outcome"] = case(
            (
                CallSession.outcome == SurveyOutcome.IN_PROGRESS,
                bound(SurveyOutcome.PARTIAL, CallSession.outcome),
            ),
            else_=CallSession.outcome,
        )
    return forward.move_forward(
        CallSession.status,
        CallSession.id == session.id,
        status,
        among=CallStatus,
        rank=lambda s: s.rank,
        copy=session,
        values=values,
    )


def survey_finished(session_id: int) -> None:
    """Tell the callback rules, after the session's state is committed.

    A failure must never reach the caller; the callbacks sweep catches the session later.
    """
    try:
        evaluation.on_survey_finished(session_id)
    except Exception:
        db.session.rollback()
        log.exception("could not hand session %s to the callback rules", session_id)


def rules_were_told(outcome: SurveyOutcome, status: CallStatus) -> bool:
    """True when, as written, the callback rules were told of this survey already: the
    goodbye completed it, or the call ended with it partial (``apply_status``)."""
    return outcome is SurveyOutcome.COMPLETED or (
        outcome is SurveyOutcome.PARTIAL and status.is_final
    )


# A caller who answers and hangs up at once sends the answer's turn and the hang-up's
# status callback together; the hang-up may end the survey and tell the rules before the
# turn's answer is committed. The turn that stored an answer looks at the survey as
# written once its answer is committed (the hot path: its write returns it) and, if the
# rules were told already, tells them again; evaluation is idempotent, so an answer both
# saw opens one task. Deferring the hang-up's evaluation instead would only narrow the
# window (a stalled or retried turn lands later still) and delay every hang-up's task.
def owe_retelling(session: CallSession) -> None:
    """Before the commit of a turn that stored what the rules read: mark the session if, as
    written, they were told of it already, so a retelling that fails is caught up by the
    sweep (``callbacks.verdicts``). A column of the turn's own UPDATE of the row."""
    session.retell_owed_at = verdicts.owe(utcnow())


def answered(session: CallSession) -> None:
    """After a turn committed an answer: tell the rules again if they were told before it."""
    db.session.refresh(session, ["outcome", "status"])
    if rules_were_told(session.outcome, session.status):
        survey_finished(session.id)
