"""The callback task's state machine: every allowed move, applied in one place and logged.

Each move is a conditional ``UPDATE ... WHERE id = :id AND state = :from``, so two
requests racing for the same task (two agents, an agent and a Twilio callback) cannot both
win: the loser gets :class:`Conflict` and nothing changes.

::

    open ──claim──► claimed ──dial──► dialing ──► connected ──► completed ─┐
     ▲  ╲             │  ▲              │                                 │ outcome
     │   escalate     │  └─(agent not   ├──► no_answer / failed ──────────┤
     │    ▼           │     reached)    │                                 ▼
     │  escalated ────┘ release         └──► (agent marks) voicemail ──► retry_scheduled
     │                                                                    or closed
     └──────────────── release / retry time ◄─────── retry_scheduled

    closed (or still waiting) ──low follow-up reply──► reopened ──claim──► claimed …
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update

from callbacks.models import CallbackTask, TaskState
from core import events
from core.db import db, utcnow

log = logging.getLogger(__name__)

S = TaskState
# An outcome can be recorded wherever the agent holds the task (even a stuck "dialing").
_AGENT_HELD = (S.CLAIMED, S.DIALING, S.CONNECTED, S.COMPLETED, S.NO_ANSWER, S.VOICEMAIL, S.FAILED)

TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    S.OPEN: frozenset({S.CLAIMED, S.ESCALATED, S.RETRY_SCHEDULED, S.CLOSED, S.REOPENED}),
    S.ESCALATED: frozenset({S.CLAIMED, S.RETRY_SCHEDULED, S.CLOSED, S.REOPENED}),
    S.RETRY_SCHEDULED: frozenset({S.OPEN, S.CLAIMED, S.ESCALATED, S.CLOSED, S.REOPENED}),
    S.CLAIMED: frozenset({S.OPEN, S.ESCALATED, S.DIALING, S.RETRY_SCHEDULED, S.CLOSED}),
    S.DIALING: frozenset(
        {
            S.CLAIMED,
            S.CONNECTED,
            S.COMPLETED,  # "completed" arrived before "in-progress" (callbacks reordered)
            S.NO_ANSWER,
            S.FAILED,
            S.VOICEMAIL,
            S.RETRY_SCHEDULED,
            S.CLOSED,
        }
    ),
    S.CONNECTED: frozenset({S.COMPLETED, S.VOICEMAIL, S.RETRY_SCHEDULED, S.CLOSED}),
    S.COMPLETED: frozenset({S.VOICEMAIL, S.RETRY_SCHEDULED, S.CLOSED, S.CLAIMED}),
    S.NO_ANSWER: frozenset({S.RETRY_SCHEDULED, S.CLOSED, S.CLAIMED}),
    S.VOICEMAIL: frozenset({S.RETRY_SCHEDULED, S.CLOSED, S.CLAIMED}),
    S.FAILED: frozenset({S.RETRY_SCHEDULED, S.CLOSED, S.CLAIMED}),
    # Closed is final for agents; only the customer's low follow-up reply reopens it.
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.CLAIMED, S.ESCALATED, S.RETRY_SCHEDULED, S.CLOSED}),
}

WAITING = (S.OPEN, S.ESCALATED, S.RETRY_SCHEDULED, S.REOPENED)  # nobody holds it
# A low follow-up reply reopens a closed task, or a waiting one (a "follow_up" outcome left
# it waiting for its next call); a task an agent holds keeps its state.
REOPENABLE = (S.CLOSED, S.OPEN, S.ESCALATED, S.RETRY_SCHEDULED)
CLAIMABLE = tuple(s for s, targets in TRANSITIONS.items() if S.CLAIMED in targets and s in WAITING)
ACTIVE = tuple(s for s in TaskState if s is not S.CLOSED)
AGENT_HELD = _AGENT_HELD


class InvalidTransition(Exception):
    """The move is not allowed from the task's current state."""


class Conflict(Exception):
    """Someone else moved the task first (the conditional update matched no row)."""


def can_move(current: TaskState, target: TaskState) -> bool:
    return target in TRANSITIONS[current]


def move(
    task: CallbackTask,
    target: TaskState,
    *,
    actor_id: int | None = None,
    reason: str = "",
    allowed_from: tuple[TaskState, ...] | None = None,
    **values: Any,
) -> CallbackTask:
    """Move ``task`` to ``target`` (plus column ``values``) if nobody moved it meanwhile.

    Args:
        allowed_from: states the caller accepts as the starting point (default: the task's
            state as loaded). The UPDATE matches only those, so a stale read cannot win.

    Nothing is committed: the caller commits (or rolls back) its whole unit of work.

    Raises:
        InvalidTransition: ``target`` is not reachable from the current state.
        Conflict: the row changed state under us; nothing was written.
    """
    sources = allowed_from or (task.state,)
    for source in sources:
        if not can_move(source, target):
            raise InvalidTransition(f"a task cannot go from {source.value} to {target.value}")
    previous = task.state
    now = utcnow()
    values = {"state": target, "updated_at": now, **values}
    if target is S.CLOSED:
        values.setdefault("closed_at", now)
    result = db.session.execute(
        update(CallbackTask)
        .where(CallbackTask.id == task.id)
        .where(CallbackTask.state.in_(sources))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"task {task.id} was changed by someone else")
    db.session.refresh(task)
    events.record(
        f"callback.{target.value}",
        session=task.session,
        user_id=actor_id,
        data={"task_id": task.id, "from": previous.value, "to": target.value, "reason": reason},
    )
    log.info("callback task %s: %s -> %s %s", task.id, previous.value, target.value, reason)
    return task


def mark_escalated(
    task: CallbackTask, *, priority: int, now: datetime, keep_state: bool = False
) -> CallbackTask:
    """Escalation: a waiting task becomes ``escalated``; a held one keeps its state, and so
    does any with ``keep_state`` (a retry that keeps its time).

    Either way the priority goes up and ``escalated_at`` is stamped, and it is logged.
    """
    if task.state in WAITING and task.state is not S.ESCALATED and not keep_state:
        return move(task, S.ESCALATED, reason="SLA missed", priority=priority, escalated_at=now)
    task.priority = priority
    task.escalated_at = now
    events.record(
        "callback.escalated",
        session=task.session,
        data={"task_id": task.id, "from": task.state.value, "to": task.state.value},
    )
    log.info("callback task %s escalated while %s", task.id, task.state.value)
    return task


def reopen(
    task: CallbackTask,
    *,
    reason: str,
    priority: int,
    scheduled_for: datetime,
    due_at: datetime,
    reasons: list[dict[str, Any]],
) -> CallbackTask:
    """The customer said we did not put it right: back in the queue for a supervisor.

    Clears ``closed_at`` (the task counts as the contact's open one again) and the holder;
    priority only goes up. The caller makes sure no other task is open for the contact.

    Raises:
        InvalidTransition: the task is held by an agent (or already reopened).
        Conflict: it moved meanwhile.
    """
    return move(
        task,
        S.REOPENED,
        reason=reason,
        priority=max(task.priority, priority),
        closed_at=None,
        claimed_by_id=None,
        claimed_at=None,
        scheduled_for=scheduled_for,
        due_at=due_at,
        reasons=reasons,
    )
