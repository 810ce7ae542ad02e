"""The agent's moves on a task: claim, release, reschedule, record an outcome.

Handlers (console, API, Twilio webhooks, jobs) call these and nothing else changes a task.
The moves take a task id and trust their caller about teams: the console first passes
every id through ``task_for`` (the signed-in person's teams), while the bearer API, used
by integrations, acts across teams.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from callbacks import escalation, followup, promise, reading, states
from callbacks.evaluation import schedule_escalation
from callbacks.models import CallbackTask
from callbacks.policy import (
    FINAL_OUTCOMES,
    OUTCOMES,
    UNREACHED_OUTCOMES,
    S,
    backoff,
    max_attempts,
    reschedule_horizon,
    sla_minutes,
    task_zone,
    window,
)
from core import hours
from core.db import db, utcnow
from core.models import Role, User
from core.twilio_params import MAX_DB_INT

log = logging.getLogger(__name__)


class ActionRefused(Exception):
    """The agent's action cannot be done; the message says why, for people."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _missing(task_id: int) -> ActionRefused:
    return ActionRefused("not_found", f"there is no callback task {task_id}", 404)


def get_task(task_id: int) -> CallbackTask:
    # An id past the INTEGER column names no task; PostgreSQL would raise, not answer.
    task = db.session.get(CallbackTask, task_id) if 0 < task_id <= MAX_DB_INT else None
    if task is None:
        raise _missing(task_id)
    return task


def task_for(user: User, task_id: int) -> CallbackTask:
    """The task, if ``user`` may see and act on it (``reading.task_scope``).

    Another team's task is refused exactly like one that does not exist, so ids say
    nothing about other teams' queues.
    """
    if not 0 < task_id <= MAX_DB_INT:
        raise _missing(task_id)
    task = db.session.scalar(
        db.select(CallbackTask).where(CallbackTask.id == task_id).where(reading.task_scope(user))
    )
    if task is None:
        raise _missing(task_id)
    return task


def _holder(task: CallbackTask) -> str:
    user = task.claimed_by
    return (user.name or user.email) if user else "another agent"


def claim(task_id: int, agent: User) -> CallbackTask:
    """Take a waiting task; of two agents clicking at once exactly one wins."""
    task = get_task(task_id)
    try:
        states.move(
            task,
            S.CLAIMED,
            actor_id=agent.id,
            allowed_from=states.CLAIMABLE,
            claimed_by_id=agent.id,
            claimed_at=utcnow(),
        )
    except states.Conflict:
        db.session.rollback()
        db.session.refresh(task)
        if task.claimed_by_id == agent.id and task.state is S.CLAIMED:
            return task
        raise ActionRefused(
            "already_claimed",
            f"Task {task.id} was already taken by {_holder(task)} ({task.state.value}).",
        ) from None
    db.session.commit()
    return task


def _require_holder(task: CallbackTask, agent: User) -> None:
    if task.claimed_by_id != agent.id and agent.role is Role.AGENT:
        raise ActionRefused("not_yours", f"Task {task.id} is held by {_holder(task)}.", 403)


def release(task_id: int, agent: User) -> CallbackTask:
    """Hand a claimed task back to the queue."""
    task = get_task(task_id)
    _require_holder(task, agent)
    target = S.ESCALATED if task.escalated_at is not None else S.OPEN
    try:
        states.move(
            task,
            target,
            actor_id=agent.id,
            reason="released",
            allowed_from=(S.CLAIMED,),
            claimed_by_id=None,
            claimed_at=None,
        )
    except (states.Conflict, states.InvalidTransition):
        db.session.rollback()
        raise ActionRefused(
            "bad_state", f"Only a claimed task can be released (it is {task.state.value})."
        ) from None
    db.session.commit()
    return task


def reschedule(
    task_id: int,
    agent: User,
    at: datetime,
    *,
    reason: str = "rescheduled",
    now: datetime | None = None,
) -> None:
    """Put the task back in the queue for ``at`` (moved into calling hours)."""
    _within_horizon(at, now or utcnow())
    task = get_task(task_id)
    if task.state not in states.WAITING:
        _require_holder(task, agent)
    _schedule_retry(task, at, actor_id=agent.id, reason=reason)
    db.session.commit()
    schedule_escalation(task)


def _within_horizon(at: datetime, now: datetime) -> None:
    """A time the agent chose must be at most ``RESCHEDULE_MAX_DAYS`` ahead."""
    if at.tzinfo is None:
        raise ActionRefused("bad_request", "the new time must include a time zone", 400)
    latest = now + reschedule_horizon()
    if at > latest:
        raise ActionRefused(
            "too_far_ahead",
            f"A callback can be put at most {reschedule_horizon().days} days ahead "
            f"(until {latest:%Y-%m-%d %H:%M} UTC).",
            400,
        )


def _schedule_retry(
    task: CallbackTask,
    at: datetime,
    *,
    actor_id: int | None,
    reason: str,
    by: datetime | None = None,
    **values: Any,
) -> None:
    """Back to the queue for ``at``, due by its SLA, and never after ``by`` when given."""
    if at.tzinfo is None:
        raise ActionRefused("bad_request", "the new time must include a time zone", 400)
    start, due = hours.schedule(
        at, sla_minutes=sla_minutes(task.priority), tz=task_zone(task), window=window()
    )
    if by is not None and by < due:
        start, due = min(start, by), by
    try:
        states.move(
            task,
            S.RETRY_SCHEDULED,
            actor_id=actor_id,
            reason=reason,
            scheduled_for=start,
            due_at=due,
            claimed_by_id=None,
            claimed_at=None,
            **values,
        )
    except states.InvalidTransition:
        raise ActionRefused(
            "bad_state", f"A task that is {task.state.value} cannot be rescheduled now."
        ) from None
    except states.Conflict:
        db.session.rollback()
        raise ActionRefused("conflict", "The task changed meanwhile; reload it.") from None


def record_outcome(
    task_id: int,
    agent: User,
    outcome: str,
    notes: str = "",
    *,
    retry_at: datetime | None = None,
    now: datetime | None = None,
) -> CallbackTask:
    """The agent's verdict after a call: close, schedule a retry, or give up at the cap."""
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise ActionRefused("bad_request", f"outcome must be one of {', '.join(OUTCOMES)}", 400)
    if retry_at is not None:
        _within_horizon(retry_at, now)
    task = get_task(task_id)
    _require_holder(task, agent)
    if task.state not in states.AGENT_HELD:
        raise ActionRefused("bad_state", f"The task is {task.state.value}; claim it first.")
    # A deadline that passed while this call was connected is missed after all.
    paused = outcome in UNREACHED_OUTCOMES and task.state in escalation.NOT_ESCALATED
    held_back = task.due_at if paused and task.due_at <= now else None
    notes_text = "\n".join(n for n in (task.notes, notes.strip()) if n) or None
    _stamp_last_attempt(task, outcome)
    reached_cap = outcome in UNREACHED_OUTCOMES and task.attempts_count >= max_attempts()
    try:
        if outcome in FINAL_OUTCOMES or reached_cap:
            why = f"gave up after {task.attempts_count} attempts" if reached_cap else outcome
            states.move(
                task, S.CLOSED, actor_id=agent.id, reason=why, outcome=outcome, notes=notes_text
            )
        else:
            at = retry_at or now + (
                backoff(task.attempts_count) if outcome in UNREACHED_OUTCOMES else timedelta(days=1)
            )
            _schedule_retry(
                task,
                at,
                actor_id=agent.id,
                reason=outcome,
                by=None if retry_at else _promised_by(task, outcome, now),
                outcome=outcome,
                notes=notes_text,
            )
    except states.Conflict:
        db.session.rollback()
        raise ActionRefused("conflict", "The task changed meanwhile; reload it.") from None
    if held_back is not None:
        escalation.owe(task, held_back)
    follow_up = followup.schedule(task, outcome, now)  # "did we put it right?", if reached
    db.session.commit()
    if follow_up is not None:
        followup.enqueue(follow_up)
    if task.closed_at is None:
        schedule_escalation(task)
    if held_back is not None:
        escalation.schedule_held_back(task, held_back)
    return task


def _promised_by(task: CallbackTask, outcome: str, now: datetime) -> datetime | None:
    """The deadline the caller still waits on after a call that did not reach them (the
    retry is due by it, so it escalates then), or None."""
    return promise.due_in_force(task, now) if outcome in UNREACHED_OUTCOMES else None


def _stamp_last_attempt(task: CallbackTask, outcome: str) -> None:
    attempt = task.attempts[-1] if task.attempts else None
    if attempt is not None and attempt.outcome is None:
        attempt.outcome = outcome
