"""SLA escalation: a job at the due time, re-checked when it runs, and notifications.

Supervisors are told through ``ESCALATION_WEBHOOK_URL`` (JSON POST), and also by SMS to
``ESCALATION_SMS_TO`` and e-mail to ``ESCALATION_EMAIL_TO`` (via ``SMTP_HOST``) when set
(``core.notify``, which rising themes use too).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import exists
from sqlalchemy.orm import aliased

from callbacks import promise, states
from callbacks.models import CallbackTask, Priority, TaskState
from core import events, queues
from core.db import db, utcnow
from core.models import Event
from core.notify import supervisors as notify_supervisors

NOT_ESCALATED = (TaskState.CONNECTED, TaskState.COMPLETED, TaskState.CLOSED)
# A deadline a connected call held back, recorded with the outcome that reached no one, and
# escalated since by the worker or, if that job was lost, by the sweep within this window.
OWED = "callback.escalation_owed"
OWED_WINDOW = timedelta(days=1)
SLA_MISSED, OUTCOME_MISSING = "sla_missed", "outcome_missing"  # why a task was escalated

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
    # A held-back deadline was missed whatever became of the task since (closed at the cap).
    if (held_back is None and task.state in NOT_ESCALATED) or deadline > now:
        return False
    # Told since the deadline passed. Not for a held-back deadline: the escalation since may
    # be the missing outcome's (callbacks.unrecorded), which did not say it was missed; its
    # own dedupe key sends it once.
    if held_back is None and task.escalated_at is not None and task.escalated_at >= deadline:
        return False
    kept = held_back is not None  # a retry keeps its time
    return escalate(task, now, deadline, key=_sent(task.id, deadline), keep_state=kept)


def escalate(
    task: CallbackTask,
    now: datetime,
    deadline: datetime,
    *,
    key: str,
    keep_state: bool = False,
    call_ended: datetime | None = None,
) -> bool:
    """Escalate ``task`` once for ``key`` (the dedupe key of its ``callback.escalation``
    event): priority up, ``escalated_at`` stamped, committed, then supervisors told.
    ``call_ended``: the escalation is for a call that ended then with no outcome recorded
    (``callbacks.unrecorded``), not for a missed deadline. False if it was sent before."""
    data = {"task_id": task.id, "due_at": deadline.isoformat()}
    if call_ended is not None:
        data |= {"why": OUTCOME_MISSING, "call_ended_at": call_ended.isoformat()}
    if not events.record("callback.escalation", session=task.session, data=data, dedupe_key=key):
        db.session.rollback()
        return False
    try:
        states.mark_escalated(
            task,
            priority=min(task.priority + 1, int(Priority.CRITICAL)),
            now=now,
            keep_state=keep_state,
        )
    except states.Conflict:
        db.session.rollback()
        return False
    db.session.commit()
    notify(task, now, deadline, call_ended=call_ended)
    return True


def _sent(task_id: int, deadline: datetime) -> str:
    """The dedupe key of the escalation for ``deadline``: one per task and deadline."""
    return f"callback-escalated:{task_id}:{int(deadline.timestamp())}"


def owe(task: CallbackTask, deadline: datetime) -> None:
    """In the outcome's transaction: a ``deadline`` a connected call held back and that
    reached no one is owed an escalation (sent by ``schedule_held_back`` after the commit;
    by the sweep, ``owed``, if that never happens)."""
    events.record(
        OWED,
        session=task.session,
        data={"task_id": task.id, "due_at": deadline.isoformat(), "sent": _sent(task.id, deadline)},
        dedupe_key=f"callback-escalation-owed:{task.id}:{int(deadline.timestamp())}",
    )


def owed(now: datetime) -> list[tuple[int, datetime]]:
    """(task id, held-back deadline) of the escalations owed and not sent: the process died
    between the outcome's commit and the enqueue, or Redis lost the job."""
    sent = aliased(Event)
    rows = db.session.scalars(
        db.select(Event.data)
        .where(Event.kind == OWED)
        .where(Event.at >= now - OWED_WINDOW)
        .where(~exists().where(sent.dedupe_key == Event.data["sent"].as_string()))
        .order_by(Event.id)
    )
    return [(row["task_id"], datetime.fromisoformat(row["due_at"])) for row in rows]


def schedule_held_back(task: CallbackTask, deadline: datetime) -> None:
    """After commit: escalate on the worker a ``deadline`` a connected call held back and
    that reached no one (``escalate_if_due``; ``owe`` recorded it, for the sweep); here
    and now if Redis is down."""
    stamp, when = int(deadline.timestamp()), deadline.isoformat()
    try:
        queues.enqueue("escalate_task", task.id, when, job_id=f"callback-held-{task.id}-{stamp}")
    except RedisError:
        log.exception("could not enqueue escalation of task %s; escalating now", task.id)
        escalate_if_due(task.id, held_back=deadline)


def payload(
    task: CallbackTask,
    now: datetime,
    deadline: datetime | None = None,
    call_ended: datetime | None = None,
) -> dict[str, Any]:
    due = deadline or task.due_at
    overdue = int((now - due).total_seconds() // 60)
    kept = promise.of_task(task, now)
    # A merged task's earlier promise may have been missed before the one in force was said.
    missed = promise.broken(task, now) if kept is not None else None
    earlier = missed if kept is not None and kept.kept is not False else None
    return {
        "event": "callback.escalated",
        "why": OUTCOME_MISSING if call_ended is not None else SLA_MISSED,
        # For an outcome missing: when the call ended (UTC); due_at is then end + grace.
        "call_ended_at": call_ended.astimezone(UTC).isoformat() if call_ended else None,
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


def notify(
    task: CallbackTask,
    now: datetime,
    deadline: datetime | None = None,
    *,
    call_ended: datetime | None = None,
) -> dict[str, bool]:
    """Tell supervisors on every configured channel; a failing channel is logged."""
    body = payload(task, now, deadline, call_ended)
    reasons = ", ".join(task.reason_codes)
    if call_ended is not None:
        who = f"{body['claimed_by']} has" if body["claimed_by"] else "the agent has"
        ago = promise.span(now - call_ended)
        text = (
            f"Callback {task.id} to {task.phone}: the call ended {ago} ago and {who} recorded "
            f"no outcome, so nobody knows whether the caller was reached ({reasons}); "
            f"now {body['priority']}."
        )
        subject = "Callback outcome not recorded"
    else:
        text = (
            f"Callback {task.id} to {task.phone} missed its SLA by {body['minutes_overdue']} "
            f"min ({reasons}); now {body['priority']}."
        )
        subject = "Callback missed its SLA"
    promised, earlier = body["promised"], body["earlier_promise_missed"]
    if call_ended is not None and promised and not body["promise_missed"]:
        # "Kept" here rests on a call nobody has said reached the caller.
        text += (
            f" The caller was told {promised} (their time): kept only if this call reached them."
        )
    elif earlier:
        text += f" Promise missed: the caller was told {earlier}, then {promised} (their time)."
    elif promised:
        told = f"was told {promised} (their time)."
        text += (
            f" Promise missed: the caller {told}"
            if body["promise_missed"]
            else f" The caller {told}"
        )
    return notify_supervisors(body, text, subject)
