"""The callback safety net, run every minute by the scheduler: overdue tasks (and deadlines
a voicemail call held back, and calls left with no outcome recorded) escalate, due retries
reopen, stuck dials settle, and surveys (or read comments) with no verdict are evaluated."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, exists, literal, or_

from callbacks import dialing, escalation, evaluation, states, unrecorded, verdicts
from callbacks.models import CallbackTask, TaskState
from core.db import db, utcnow
from core.models import CallSession, Event, Recording, RecordingStatus, SurveyOutcome

# How long a finished survey can still become a callback task. Older calls are history:
# the sweep leaves them alone, and re-reading their comments (``flask comments
# reanalyse``) corrects the record without opening a task.
CALLBACK_WINDOW = timedelta(days=1)
SETTLE = timedelta(minutes=2)  # the survey's own end-of-call evaluation goes first
LONGEST_CALL = timedelta(hours=1)  # a survey "in progress" for longer lost its end


def sweep(now: datetime | None = None) -> dict[str, int]:
    """The safety net: overdue tasks, due retries, stuck dials, unevaluated surveys."""
    now = now or utcnow()
    counts = {"escalated": 0, "reopened": 0, "settled": 0, "evaluated": 0}
    overdue = db.session.scalars(
        db.select(CallbackTask.id)
        .where(CallbackTask.state.in_(states.ACTIVE))
        .where(CallbackTask.state.not_in(escalation.NOT_ESCALATED))
        .where(CallbackTask.due_at <= now)
    ).all()
    for task_id in overdue:
        counts["escalated"] += escalation.escalate_if_due(task_id, now)
    for task_id, deadline in escalation.owed(now):
        counts["escalated"] += escalation.escalate_if_due(task_id, now, held_back=deadline)
    for task_id in unrecorded.overdue(now):  # a call ended long ago with no outcome
        counts["escalated"] += unrecorded.escalate_if_missing(task_id, now)
    due_retries = db.session.scalars(
        db.select(CallbackTask)
        .where(CallbackTask.state == TaskState.RETRY_SCHEDULED)
        .where(CallbackTask.scheduled_for <= now)
    ).all()
    for task in due_retries:
        try:
            states.move(task, TaskState.OPEN, reason="retry time reached")
            db.session.commit()
            counts["reopened"] += 1
        except states.Conflict:
            db.session.rollback()
    counts["settled"] = dialing.settle_stale(now)
    for session_id in unevaluated(now):
        evaluation.evaluate_session(session_id, now)
        counts["evaluated"] += 1
    return counts


def unevaluated(now: datetime) -> list[int]:
    """Surveys within the window the rules have not judged yet, whatever was lost on the way.

    A finished survey with no verdict at all (the inline rules and the job both failed); a
    survey whose comment was read but never judged (the recording job died after reading
    it); a survey a turn stored more of after a hang-up told the rules, whose retelling was
    lost (``callbacks.verdicts``); and a survey still "in progress" long after any call
    ends (its final status callback was lost), judged on the answers it has.
    """
    # A survey of the window was judged after it began (SETTLE: a margin for hosts' clocks),
    # so older verdicts, most of them, are never read.
    evaluated = (
        exists()
        .where(Event.session_id == CallSession.id)
        .where(Event.kind == verdicts.EVALUATED)
        .where(Event.at >= now - CALLBACK_WINDOW - SETTLE)
    )
    # evaluation.evaluate_session marks each phase it judged with this dedupe key.
    analysis_key = literal("callback-evaluated:") + cast(CallSession.id, String) + ":analysis"
    comment_judged = exists().where(Event.dedupe_key == analysis_key)
    comment_read = (
        exists()
        .where(Recording.session_id == CallSession.id)
        .where(Recording.status == RecordingStatus.ANALYSED)
    )
    finished = or_(
        CallSession.outcome.in_((SurveyOutcome.COMPLETED, SurveyOutcome.PARTIAL)),
        and_(
            CallSession.outcome == SurveyOutcome.IN_PROGRESS,
            or_(CallSession.ended_at.is_not(None), CallSession.created_at <= now - LONGEST_CALL),
        ),
    )
    return list(
        db.session.scalars(
            db.select(CallSession.id)
            .where(CallSession.created_at >= now - CALLBACK_WINDOW)
            .where(CallSession.created_at <= now - SETTLE)
            .where(CallSession.is_test.is_(False))  # try-it calls are never judged
            .where(finished)
            .where(or_(~evaluated, and_(comment_read, ~comment_judged), verdicts.owed()))
            .order_by(CallSession.id)
        )
    )
