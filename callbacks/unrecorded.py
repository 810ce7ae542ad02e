"""A callback call that ended with no outcome recorded: escalated once, shown until recorded.

When the customer's leg ends, the task is ``completed`` until the agent says how the call
went (resolved, voicemail, nobody there…). Until then nobody knows whether the caller was
reached, and nothing else moves the task: a connected call holds the SLA escalation back
(``escalation.NOT_ESCALATED``), and no retry is due. So once
``CALLBACK_OUTCOME_GRACE_MINUTES`` (30) have passed since the call ended, the sweep
escalates the task once, through the same machinery as a missed deadline
(``escalation.escalate``: priority up, a ``callback.escalation`` event, the same channels),
and its pages say the outcome is missing. Recording the outcome moves the task on, which
clears it; it sends nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_

from callbacks import escalation, promise
from callbacks.models import CallbackAttempt, CallbackTask, TaskState
from core.db import db


def grace() -> timedelta:
    """How long the agent has to record how a call went (``CALLBACK_OUTCOME_GRACE_MINUTES``)."""
    return timedelta(minutes=int(current_app.config["CALLBACK_OUTCOME_GRACE_MINUTES"]))


@dataclass(frozen=True)
class Missing:
    """The task's last call ended longer than the grace period ago with no outcome."""

    ended_at: datetime  # when the call ended (UTC)
    escalated: bool  # supervisors were told (once the sweep ran)
    zone: str  # the caller's zone, to say times in
    now: datetime  # when it was read, to say how long ago

    @property
    def due_at(self) -> datetime:
        """When the outcome was due: the escalation's deadline."""
        return self.ended_at + grace()

    @property
    def says(self) -> str:
        """ "Outcome not recorded: the call ended 45 min ago (at 10:40 AM today, caller's
        time) and nobody has said whether the caller was reached." """
        ago, at = (
            promise.span(self.now - self.ended_at),
            promise.moment(self.ended_at, self.zone, self.now),
        )
        told = " Supervisors have been told." if self.escalated else ""
        return (
            f"Outcome not recorded: the call ended {ago} ago (at {at}, caller's time) and "
            f"nobody has said whether the caller was reached.{told}"
        )


def call_ended(task: CallbackTask) -> datetime | None:
    """When the call the task waits on an outcome for ended; None when it waits on none."""
    if task.state is not TaskState.COMPLETED:
        return None
    return max((a.ended_at for a in task.attempts if a.ended_at is not None), default=None)


def missing(task: CallbackTask, now: datetime) -> Missing | None:
    """The outcome the task is missing, once the grace period has passed; None otherwise."""
    ended = call_ended(task)
    if ended is None or ended + grace() > now:
        return None
    escalated = task.escalated_at is not None and task.escalated_at >= ended
    return Missing(ended, escalated, task.timezone, now)


def overdue(now: datetime) -> list[int]:
    """The sweep's query: tasks missing an outcome and not escalated since their call ended.

    Reads only ``completed`` tasks (the state index's first column) changed within
    ``escalation.OWED_WINDOW`` (they became ``completed`` then), and the last call of each
    (by ``task_id``): a task left without an outcome for longer, escalated or not, is no
    longer read every minute, nor told of days late (on deploy, say).
    """
    ended = func.max(CallbackAttempt.ended_at)
    return list(
        db.session.scalars(
            db.select(CallbackTask.id)
            .join(CallbackAttempt, CallbackAttempt.task_id == CallbackTask.id)
            .where(CallbackTask.state == TaskState.COMPLETED)
            .where(CallbackTask.updated_at >= now - escalation.OWED_WINDOW)
            .group_by(CallbackTask.id, CallbackTask.escalated_at)
            .having(ended <= now - grace())
            .having(or_(CallbackTask.escalated_at.is_(None), CallbackTask.escalated_at < ended))
            .order_by(CallbackTask.id)
        )
    )


def escalate_if_missing(task_id: int, now: datetime) -> bool:
    """Escalate the task once for the call whose outcome is missing; True if this did it.

    The row is locked (PostgreSQL) so an outcome recorded meanwhile waits for this, or
    comes first and leaves nothing to escalate.
    """
    task = db.session.get(CallbackTask, task_id, with_for_update=True, populate_existing=True)
    found = missing(task, now) if task is not None else None
    if task is None or found is None or found.escalated:
        db.session.rollback()
        return False
    key = f"callback-outcome-missing:{task.id}:{int(found.ended_at.timestamp())}"
    return escalation.escalate(
        task, now, found.due_at, key=key, keep_state=True, call_ended=found.ended_at
    )
