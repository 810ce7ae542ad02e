"""What other packages may know about callback tasks: the public read (and erase) API.

A survey session is linked to a task when it opened the task (``task.session_id``) or
gave it a reason (``task.reasons[].session_id``, where a merged session leaves its mark).
``_links`` is that definition in SQL (``CallbackTask.session_ids`` in Python); every
answer below is built on it. Results are frozen dataclasses, never ORM rows, so callers
cannot depend on the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    Subquery,
    and_,
    column,
    false,
    func,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import selectinload

from callbacks import promise, reading, unrecorded
from callbacks.models import CallbackAttempt, CallbackTask, FollowUp, Priority, TaskState
from callbacks.summaries import (
    Attempt,
    FollowUpSummary,
    Recovery,
    TaskReason,
    TaskSummary,
    TaskTiming,
)
from core.contacts import ERASED
from core.db import db, utcnow
from core.models import CallSession, User

# Task states a manager can filter by, in the order the task moves through them.
STATES: tuple[str, ...] = tuple(state.value for state in TaskState)


def _reason_rows() -> Any:
    """Each element of ``callback_tasks.reasons`` as a row (column ``value``)."""
    expand = (
        "json_each" if db.session.get_bind().dialect.name == "sqlite" else "json_array_elements"
    )
    return getattr(func, expand)(CallbackTask.reasons).table_valued(column("value", JSON))


def _links() -> Subquery:
    """(task_id, session_id): each session that opened a task or gave it a reason."""
    reason = _reason_rows()
    opened = select(CallbackTask.id.label("task_id"), CallbackTask.session_id.label("session_id"))
    merged = select(CallbackTask.id, reason.c.value["session_id"].as_integer()).join_from(
        CallbackTask, reason, true()
    )
    both = union(opened, merged).subquery()
    return (
        select(both.c.task_id, both.c.session_id.label("session_id"))
        .where(both.c.session_id.is_not(None))
        .subquery("callback_links")
    )


def _follow_up_summary(row: FollowUp | None) -> FollowUpSummary | None:
    if row is None:
        return None
    return FollowUpSummary(
        status=row.status.value,
        channel=row.channel,
        due_at=row.due_at,
        sent_at=row.sent_at,
        score=row.score,
        answered_at=row.answered_at,
        reason=row.reason,
    )


def _attempt(a: CallbackAttempt) -> Attempt:
    return Attempt(
        a.agent_id, a.status.value, a.outcome or None, a.created_at, a.ended_at, a.answered_at
    )


def _summary(
    task: CallbackTask,
    attempts: Iterable[CallbackAttempt] = (),
    follow_up: FollowUp | None = None,
) -> TaskSummary:
    return TaskSummary(
        task_id=task.id,
        state=task.state.value,
        priority=Priority(task.priority).label,
        outcome=task.outcome or None,
        notes=task.notes,
        reasons=tuple(
            TaskReason(str(r.get("code", "")), str(r.get("detail") or "")) for r in task.reasons
        ),
        created_at=task.created_at,
        due_at=task.due_at,
        first_attempt_at=task.first_attempt_at,
        closed_at=task.closed_at,
        attempts=tuple(_attempt(a) for a in attempts),
        follow_up=_follow_up_summary(follow_up),
        outcome_missing=unrecorded.missing(task, utcnow()),
    )


# Ids per IN list: psycopg refuses a statement with more than 65,535 parameters.
CHUNK = 5000


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _newest_tasks(session_ids: Sequence[int]) -> dict[int, CallbackTask]:
    """Session id -> the newest task it is linked to (the one the loop is on)."""
    newest: dict[int, CallbackTask] = {}
    for chunk in _chunks(list(session_ids)):
        links = _links()
        rows = db.session.execute(
            select(links.c.session_id, CallbackTask)
            .join(CallbackTask, CallbackTask.id == links.c.task_id)
            .where(links.c.session_id.in_(chunk))
        ).all()
        for session_id, task in rows:
            current = newest.get(session_id)
            if current is None or (task.created_at, task.id) > (current.created_at, current.id):
                newest[session_id] = task
    return newest


def summaries(session_ids: Sequence[int]) -> dict[int, TaskSummary]:
    """Each session's newest linked task (no attempts), one query per ``CHUNK`` sessions."""
    return {sid: _summary(task) for sid, task in _newest_tasks(session_ids).items()}


def timeline(session_id: int) -> TaskSummary | None:
    """The session's newest linked task with every attempt, oldest first, and its follow-up."""
    task = _newest_tasks([session_id]).get(session_id)
    if task is None:
        return None
    attempts = db.session.scalars(
        select(CallbackAttempt)
        .where(CallbackAttempt.task_id == task.id)
        .order_by(CallbackAttempt.created_at, CallbackAttempt.id)
    ).all()
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.task_id == task.id))
    return _summary(task, attempts, follow_up)


# What the caller was promised on a call, and whether a callback reached them by then.
Keeping = promise.Keeping


def promise_kept(
    session: CallSession, callback: TaskSummary | None, now: datetime | None = None
) -> Keeping | None:
    """The callback promised on ``session``, kept or not by its task's calls (``callback``,
    as ``timeline`` gives it); None when nothing was promised."""
    calls = callback.attempts if callback is not None else ()
    awaiting = callback is not None and callback.state == TaskState.COMPLETED.value
    return promise.keeping(session, calls, now or utcnow(), awaiting=awaiting)


def promises(
    task_id: int, viewer: User | None = None, now: datetime | None = None
) -> list[promise.Made]:
    """Every promise made on the task's calls that ``viewer`` may see, newest first, each
    kept, missed, open or replaced (``promise.every``)."""
    task = db.session.get(CallbackTask, task_id)
    if task is None:
        return []
    return promise.every(task, now or utcnow(), reading.task_sessions(task, viewer=viewer))


def promises_kept(session_ids: Select[Any], now: datetime | None = None) -> dict[int, bool | None]:
    """Session id -> whether the callback promised on it was kept (None: still to come);
    ``CHUNK`` sessions at a time, so a range of any size binds a bounded number of rows."""
    now = now or utcnow()
    promised = db.session.scalars(
        select(CallSession.id)
        .where(CallSession.id.in_(session_ids), CallSession.callback_promised_at.is_not(None))
        .order_by(CallSession.id)
    ).all()
    found: dict[int, bool | None] = {}
    for chunk in _chunks(promised):
        tasks = _newest_tasks(chunk)
        calls: dict[int, list[Attempt]] = {}
        task_ids = sorted({t.id for t in tasks.values()})
        query = select(CallbackAttempt).where(CallbackAttempt.task_id.in_(task_ids))
        for a in db.session.scalars(query):
            calls.setdefault(a.task_id, []).append(_attempt(a))
        for session in db.session.scalars(
            select(CallSession)
            .where(CallSession.id.in_(chunk))
            .options(selectinload(CallSession.contact))
        ):
            task = tasks.get(session.id)  # every one of these was promised a callback
            found[session.id] = promise.was_kept(
                session, calls.get(task.id, []) if task else [], now
            )
    return found


# --- filters: SQL conditions on CallSession --------------------------------------------


def _linked_to_task(where: ColumnElement[bool]) -> ColumnElement[bool]:
    """Sessions linked to a task matching ``where``."""
    links = _links()
    return CallSession.id.in_(
        select(links.c.session_id)
        .join(CallbackTask, CallbackTask.id == links.c.task_id)
        .where(where)
    )


def state_condition(state: str) -> ColumnElement[bool]:
    """Sessions linked to a task in ``state`` (``none``: sessions linked to no task)."""
    if state == "none":
        return ~_linked_to_task(true())
    try:
        wanted = TaskState(state)
    except ValueError:
        return false()
    return _linked_to_task(CallbackTask.state == wanted)


def sla_condition(met: bool, now: datetime | None = None) -> ColumnElement[bool]:
    """Sessions whose task was first attempted within its deadline (or late / overdue)."""
    first, due = CallbackTask.first_attempt_at, CallbackTask.due_at
    if met:
        return _linked_to_task(and_(first.is_not(None), first <= due))
    overdue = and_(first.is_(None), due < (now or utcnow()))
    return _linked_to_task(or_(first > due, overdue))


def agent_condition(agent_id: int) -> ColumnElement[bool]:
    """Sessions linked to a task this agent made a call for."""
    attempted = select(CallbackAttempt.task_id).where(CallbackAttempt.agent_id == agent_id)
    return _linked_to_task(CallbackTask.id.in_(attempted))


def opened_by(session_ids: Select[Any]) -> list[TaskTiming]:
    """Timings of the tasks these sessions opened (each task counts once, for its opener)."""
    rows = db.session.execute(
        select(
            CallbackTask.session_id,
            CallbackTask.created_at,
            CallbackTask.due_at,
            CallbackTask.first_attempt_at,
        ).where(CallbackTask.session_id.in_(session_ids))
    ).all()
    return [TaskTiming(sid, c, d, f) for sid, c, d, f in rows if sid is not None]


def recoveries(session_ids: Select[Any]) -> list[Recovery]:
    """Follow-ups of the tasks these sessions opened (each task once, for its opener)."""
    rows = db.session.execute(
        select(
            CallbackTask.session_id,
            FollowUp.agent_id,
            User.name,
            User.email,
            FollowUp.status,
            FollowUp.score,
            CallbackTask.first_attempt_at,
            CallbackTask.due_at,
        )
        .select_from(FollowUp)
        .join(CallbackTask, CallbackTask.id == FollowUp.task_id)
        .outerjoin(User, User.id == FollowUp.agent_id)
        .where(CallbackTask.session_id.in_(session_ids))
    ).all()
    return [
        Recovery(
            session_id=sid,
            agent_id=agent_id,
            agent=name or email or "",
            status=status.value,
            score=score,
            sla_met=None if first is None else first <= due,
        )
        for sid, agent_id, name, email, status, score, first, due in rows
        if sid is not None
    ]


# --- erasure ---------------------------------------------------------------------------


def erase_caller(session_ids: Iterable[int], contact_id: int | None) -> int:
    """Remove an erased caller's personal data from callback rows; returns tasks touched.

    Tasks linked to these sessions or opened for the contact stay (SLA figures keep
    counting) with their reason codes, but numbers, agents' free-text notes and every
    reason's detail go: a detail quotes the caller's words ("sounded anxious: “…”") on the
    task page and the queue. Free text that may name the number (an attempt's error, a
    follow-up's reason) goes too. The caller commits.
    """
    ids = list(session_ids)
    conditions: list[ColumnElement[bool]] = []
    if ids:
        links = _links()
        conditions.append(
            CallbackTask.id.in_(select(links.c.task_id).where(links.c.session_id.in_(ids)))
        )
    if contact_id is not None:
        conditions.append(CallbackTask.contact_id == contact_id)
    if not conditions:
        return 0
    tasks = db.session.scalars(select(CallbackTask).where(or_(*conditions))).all()
    for task in tasks:
        task.notes = None
        task.phone = ERASED
        task.reasons = [{**reason, "detail": ERASED} for reason in task.reasons]
    task_ids = [t.id for t in tasks]
    if task_ids:
        for attempt in db.session.scalars(
            select(CallbackAttempt).where(CallbackAttempt.task_id.in_(task_ids))
        ):
            attempt.to_number = ERASED
            attempt.error = None
        for follow_up in db.session.scalars(select(FollowUp).where(FollowUp.task_id.in_(task_ids))):
            follow_up.reason = None
    return len(tasks)
