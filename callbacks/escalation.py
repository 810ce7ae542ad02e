"""SLA escalation: a job at the due time, re-checked when it runs, and notifications.

Supervisors are told through ``ESCALATION_WEBHOOK_URL`` (JSON POST), and also by SMS to
``ESCALATION_SMS_TO`` and e-mail to ``ESCALATION_EMAIL_TO`` (via ``SMTP_HOST``) when set
(``core.notify``, which rising themes use too).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from callbacks import promise, states
from callbacks.models import CallbackTask, Priority, TaskState
from core import events, queues
from core.db import db, utcnow
from core.notify import supervisors as notify_supervisors

NOT_ESCALATED = (TaskState.CONNECTED, TaskState.COMPLETED, TaskState.CLOSED)

log = logging.getLogger(__name__)


def job_id(task: CallbackTask) -> str:
    return f"callback-escalate-{task.id}-{int(task.due_at.timestamp())}"


def schedule(task: CallbackTask) -> None:
    """Enqueue the escalation check at ``due_at`` (same id for the same deadline)."""
    queues.enqueue("escalate_task", task.id, job_id=job_id(task), at=task.due_at)


def escalate_if_due(
    task_id: int, now: datetime | None = None, *, held_back: datetime | None = None
) -> bool:
    """Escalate the task if its deadline passed without a connected call; True if it did.

    A connected call holds escalation back (``NOT_ESCALATED``) until the agent says how it
    went. ``held_back``: a deadline it held back, recorded since as voicemail or nobody
    there (it reached no one): missed after all, as a ring nobody answered would have been,
    while the task keeps waiting for its retry.

    Safe to run any number of times: one escalation per deadline (dedupe key).
    """
    now = now or utcnow()
    task = db.session.get(CallbackTask, task_id)
    if task is None:
        return False
    deadline = held_back or task.due_at
    paused = (TaskState.CLOSED,) if held_back else NOT_ESCALATED
    if task.state in paused or deadline > now:
        return False
    if task.escalated_at is not None and task.escalated_at >= deadline:
        return False
    fresh = events.record(
        "callback.escalation",
        session=task.session,
        data={"task_id": task.id, "due_at": deadline.isoformat()},
        dedupe_key=f"callback-escalated:{task.id}:{int(deadline.timestamp())}",
    )
    if not fresh:
        db.session.rollback()
        return False
    try:
        states.mark_escalated(
            task,
            priority=min(task.priority + 1, int(Priority.CRITICAL)),
            now=now,
            keep_state=held_back is not None,
        )
    except states.Conflict:
        db.session.rollback()
        return False
    db.session.commit()
    notify(task, now, deadline)
    return True


def schedule_held_back(task: CallbackTask, deadline: datetime) -> None:
    """After commit: escalate on the worker a ``deadline`` a connected call held back and
    that reached no one (``escalate_if_due``); here and now if Redis is down, since the
    sweep only looks at a task's current deadline."""
    stamp, when = int(deadline.timestamp()), deadline.isoformat()
    try:
        queues.enqueue("escalate_task", task.id, when, job_id=f"callback-held-{task.id}-{stamp}")
    except RedisError:
        log.exception("could not enqueue escalation of task %s; escalating now", task.id)
        escalate_if_due(task.id, held_back=deadline)


def payload(task: CallbackTask, now: datetime, deadline: datetime | None = None) -> dict[str, Any]:
    due = deadline or task.due_at
    overdue = int((now - due).total_seconds() // 60)
    kept = promise.of_task(task, now)
    # A merged task's earlier promise may have been missed before the one in force was said.
    missed = promise.broken(task, now) if kept is not None else None
    earlier = missed if kept is not None and kept.kept is not False else None
    return {
        "event": "callback.escalated",
        "task_id": task.id,
        "phone": task.phone,
        "priority": Priority(task.priority).label,
        "state": task.state.value,
        "reasons": task.reasons,
        "due_at": due.astimezone(UTC).isoformat(),
        "minutes_overdue": overdue,
        "claimed_by": task.claimed_by.email if task.claimed_by else None,
        # What the caller was told ("by 4:15 PM today", their time) and whether it passed.
        "promised": kept.said if kept else None,
        "promised_by": kept.by.astimezone(UTC).isoformat() if kept else None,
        "promise_missed": missed is not None,
        "earlier_promise_missed": earlier.said if earlier else None,
    }


def notify(task: CallbackTask, now: datetime, deadline: datetime | None = None) -> dict[str, bool]:
    """Tell supervisors on every configured channel; a failing channel is logged."""
    body = payload(task, now, deadline)
    text = (
        f"Callback {task.id} to {task.phone} missed its SLA by {body['minutes_overdue']} min "
        f"({', '.join(task.reason_codes)}); now {body['priority']}."
    )
    promised, earlier = body["promised"], body["earlier_promise_missed"]
    if earlier:
        text += f" Promise missed: the caller was told {earlier}, then {promised} (their time)."
    elif promised:
        told = f"was told {promised} (their time)."
        text += (
            f" Promise missed: the caller {told}"
            if body["promise_missed"]
            else f" The caller {told}"
        )
    return notify_supervisors(body, text, "Callback missed its SLA")
