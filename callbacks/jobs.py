"""RQ jobs for callbacks: plain functions taking ids, each in its own app context.

All run on the ``high`` queue, are enqueued after commit with deterministic ids, and are
safe to run twice (database state decides what is left to do).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from rq import Retry

from workers import queues
from workers.context import job_context

log = logging.getLogger(__name__)


def evaluate_session(session_id: int, phase: str = "survey") -> int | None:
    """Run the callback rules for a finished survey; returns the open task's id."""
    from callbacks import service

    with job_context():
        task = service.evaluate_session(session_id)
        return task.id if task is not None else None


def on_survey_finished(session_id: int) -> None:
    """``ivr.lifecycle.finish_hooks`` entry, called after the session is committed.

    Keypad rules need no transcript, so they run right here (a few queries): the task
    exists before the caller has even heard the goodbye. If that fails for any reason the
    caller is not affected: the same evaluation is enqueued as a job on the high queue
    (and the periodic sweep evaluates any finished survey that still has no verdict).
    ``CALLBACK_EVALUATE_INLINE=False`` always uses the job instead.
    """
    from flask import current_app

    from callbacks import service
    from ivr.db import db

    if not current_app.config.get("CALLBACK_EVALUATE_INLINE", True):
        enqueue_evaluation(session_id)
        return
    try:
        service.evaluate_session(session_id)
    except Exception:
        db.session.rollback()
        log.exception("callback rules failed inline for session %s; enqueuing", session_id)
        enqueue_evaluation(session_id)


def enqueue_evaluation(session_id: int, phase: str = "survey") -> None:
    """Evaluate a session on the worker (high queue), once per session and phase."""
    queues.enqueue(
        evaluate_session,
        session_id,
        phase,
        queue=queues.HIGH,
        job_id=f"callback-evaluate-{session_id}-{phase}",
        timeout=60,
        retry=Retry(max=3, interval=[1, 5, 30]),
        failure_ttl=7 * 86400,
    )


def place_call(attempt_id: int) -> str:
    """Ring the agent for a click-to-call attempt (never twice for one attempt)."""
    from callbacks import dialing

    with job_context():
        return dialing.place_call_now(attempt_id)


def escalate_task(task_id: int) -> bool:
    """At the SLA deadline: escalate unless the task was connected or moved meanwhile."""
    from callbacks import escalation

    with job_context():
        return escalation.escalate_if_due(task_id)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """The safety net: overdue tasks, due retries, stuck dials, unevaluated surveys."""
    from callbacks import dialing, escalation, service, states
    from callbacks.models import CallbackTask, TaskState
    from ivr.db import db, utcnow
    from ivr.models import CallSession, Event, SurveyOutcome

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
            service.evaluate_session(session_id, now)
            counts["evaluated"] += 1
    return counts


def sweep_callbacks() -> dict[str, Any]:
    """Periodic (workers.cron): the callback safety net."""
    with job_context():
        return sweep()
