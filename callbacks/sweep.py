"""The callback safety net, run every minute by the scheduler: overdue tasks escalate, due
retries reopen, stuck dials settle, and finished surveys with no verdict are evaluated."""

from __future__ import annotations

from datetime import datetime, timedelta

from callbacks import dialing, escalation, evaluation, states
from callbacks.models import CallbackTask, TaskState
from core.db import db, utcnow
from core.models import CallSession, Event, SurveyOutcome


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
    cutoff = now - timedelta(days=1)
    done = set(
        db.session.scalars(
            db.select(Event.session_id)
            .where(Event.kind == "callback.evaluated")
            .where(Event.at >= cutoff - timedelta(hours=1))
        )
    )
    finished = db.session.scalars(
        db.select(CallSession.id)
        .where(CallSession.outcome.in_((SurveyOutcome.COMPLETED, SurveyOutcome.PARTIAL)))
        .where(CallSession.created_at >= cutoff)
        .where(CallSession.created_at <= now - timedelta(minutes=2))
    ).all()
    for session_id in finished:
        if session_id not in done:
            evaluation.evaluate_session(session_id, now)
            counts["evaluated"] += 1
    return counts
