"""Every place the dashboard reads the callbacks package's tables, in one module.

The callbacks package owns ``CallbackTask`` and ``CallbackAttempt``; this module is the
only one here that names their columns, so a change there is one change here. When the
package has no models yet, callback columns read as empty and callback filters match
nothing.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true

from core.db import db, utcnow
from core.models import CallSession, Event


def _models() -> tuple[Any, Any] | None:
    """(CallbackTask, CallbackAttempt), or None while the callbacks package has no models."""
    try:
        from callbacks.models import CallbackAttempt, CallbackTask
    except ImportError:  # pragma: no cover - depends on the other package's progress
        return None
    return CallbackTask, CallbackAttempt


def available() -> bool:
    """True when the callbacks package provides its models."""
    return _models() is not None


@dataclass
class AttemptView:
    """One call an agent made for a task."""

    agent_id: int | None
    status: str
    outcome: str | None
    created_at: datetime | None
    ended_at: datetime | None


@dataclass
class CallbackSummary:
    """What the callback loop did for one survey session."""

    task_id: int
    state: str
    priority: str
    outcome: str | None
    notes: str | None
    reasons: list[dict[str, Any]]
    created_at: datetime | None
    due_at: datetime | None
    first_attempt_at: datetime | None
    closed_at: datetime | None
    attempts: list[AttemptView] = field(default_factory=list)

    def sla_met(self, now: datetime | None = None) -> bool | None:
        """True/False once decided; None while the task is still inside its SLA."""
        if self.due_at is None:
            return None
        if self.first_attempt_at is not None:
            return self.first_attempt_at <= self.due_at
        return False if (now or utcnow()) > self.due_at else None

    def time_to_first_attempt(self) -> timedelta | None:
        if self.first_attempt_at is None or self.created_at is None:
            return None
        return self.first_attempt_at - self.created_at


def _value(raw: Any) -> str:
    return str(getattr(raw, "value", raw)) if raw is not None else ""


EVALUATED = "callback.evaluated"  # the callbacks package logs the task a session fed


def _linked_task_ids(task: Any, session_ids: Sequence[int]) -> dict[int, set[int]]:
    """Session id -> ids of the tasks it opened or was merged into (two queries in all)."""
    links: dict[int, set[int]] = {sid: set() for sid in session_ids}
    rows = db.session.execute(
        select(Event.session_id, Event.data["task_id"].as_integer()).where(
            Event.kind == EVALUATED, Event.session_id.in_(list(session_ids))
        )
    ).all()
    for session_id, task_id in rows:
        if session_id is not None and task_id is not None:
            links[session_id].add(int(task_id))
    direct = db.session.execute(
        select(task.session_id, task.id).where(task.session_id.in_(list(session_ids)))
    ).all()
    for session_id, task_id in direct:
        links[session_id].add(task_id)
    return links


def summaries(
    session_ids: Sequence[int], *, with_attempts: bool = False
) -> dict[int, CallbackSummary]:
    """The newest callback task each session opened or was merged into; a fixed number of
    queries whatever the number of sessions."""
    models = _models()
    if models is None or not session_ids:
        return {}
    CallbackTask, CallbackAttempt = models
    links = _linked_task_ids(CallbackTask, session_ids)
    all_ids = set().union(*links.values())
    if not all_ids:
        return {}
    tasks = {
        t.id: t
        for t in db.session.scalars(select(CallbackTask).where(CallbackTask.id.in_(all_ids)))
    }
    views: dict[int, CallbackSummary] = {}
    result: dict[int, CallbackSummary] = {}
    for session_id, task_ids in links.items():
        linked = [tasks[i] for i in task_ids if i in tasks]
        if not linked:
            continue
        task = max(linked, key=lambda t: (t.created_at, t.id))  # the one the loop is on
        if task.id not in views:
            views[task.id] = CallbackSummary(
                task_id=task.id,
                state=_value(task.state),
                priority=_priority(task.priority),
                outcome=_value(task.outcome) or None,
                notes=task.notes,
                reasons=list(task.reasons or []),
                created_at=task.created_at,
                due_at=task.due_at,
                first_attempt_at=task.first_attempt_at,
                closed_at=task.closed_at,
            )
        result[session_id] = views[task.id]
    if with_attempts and views:
        attempts = db.session.scalars(
            select(CallbackAttempt)
            .where(CallbackAttempt.task_id.in_(list(views)))
            .order_by(CallbackAttempt.created_at)
        ).all()
        for attempt in attempts:
            views[attempt.task_id].attempts.append(
                AttemptView(
                    agent_id=attempt.agent_id,
                    status=_value(attempt.status),
                    outcome=_value(attempt.outcome) or None,
                    created_at=attempt.created_at,
                    ended_at=attempt.ended_at,
                )
            )
    return result


def _has_task(task: Any, where: ColumnElement[bool]) -> ColumnElement[bool]:
    """Sessions that opened, or were merged into, a task matching ``where``."""
    matching = select(task.id).where(where)
    return or_(
        CallSession.id.in_(select(task.session_id).where(where, task.session_id.is_not(None))),
        exists(
            select(Event.id).where(
                Event.session_id == CallSession.id,
                Event.kind == EVALUATED,
                Event.data["task_id"].as_integer().in_(matching),
            )
        ),
    )


def states() -> list[str]:
    """Task states to offer in the filter (from the model's enum when it has one)."""
    models = _models()
    if models is None:
        return []
    enum_class = getattr(models[0].__table__.c.state.type, "enum_class", None)
    return [_value(m) for m in enum_class] if enum_class is not None else []


def _priority(raw: Any) -> str:
    try:
        from callbacks.models import Priority
    except ImportError:  # pragma: no cover
        return _value(raw)
    try:
        return Priority(int(raw)).label
    except (TypeError, ValueError):
        return _value(raw)


def state_condition(state: str) -> ColumnElement[bool]:
    """Sessions whose callback task is in ``state`` (``none``: sessions without a task)."""
    models = _models()
    if models is None:
        return true() if state == "none" else false()
    task = models[0]
    if state == "none":
        return ~_has_task(task, true())
    enum_class = getattr(task.__table__.c.state.type, "enum_class", None)
    if enum_class is not None:
        try:
            literal: Any = enum_class(state)
        except ValueError:
            return false()
    else:
        literal = state
    return _has_task(task, task.state == literal)


def sla_condition(met: bool, now: datetime | None = None) -> ColumnElement[bool]:
    """Sessions whose callback was first attempted within (or after) its due time."""
    models = _models()
    if models is None:
        return false()
    task = models[0]
    now = now or utcnow()
    if met:
        cond = and_(task.first_attempt_at.is_not(None), task.first_attempt_at <= task.due_at)
    else:
        cond = or_(
            task.first_attempt_at > task.due_at,
            and_(task.first_attempt_at.is_(None), task.due_at < now),
        )
    return _has_task(task, cond)


def agent_condition(agent_id: int) -> ColumnElement[bool]:
    """Sessions an agent made a callback attempt for."""
    models = _models()
    if models is None:
        return false()
    task, attempt = models
    return _has_task(task, task.id.in_(select(attempt.task_id).where(attempt.agent_id == agent_id)))


def task_rows(session_ids: Select[Any]) -> list[tuple[Any, ...]]:
    """(session_id, created_at, due_at, first_attempt_at) of the tasks of these sessions."""
    models = _models()
    if models is None:
        return []
    task = models[0]
    rows = db.session.execute(
        select(task.session_id, task.created_at, task.due_at, task.first_attempt_at).where(
            task.session_id.in_(session_ids)
        )
    ).all()
    return [tuple(r) for r in rows]


ERASED = "erased"


def scrub(session_ids: Iterable[int], contact_id: int | None) -> int:
    """Remove personal data from the callback rows of an erased caller; returns tasks touched.

    Rows stay (SLA figures keep counting) but numbers and free-text notes go.
    """
    models = _models()
    if models is None:
        return 0
    task, attempt = models
    ids = list(session_ids)
    conds: list[ColumnElement[bool]] = []
    if ids:
        conds.append(task.session_id.in_(ids))
    if contact_id is not None:
        conds.append(task.contact_id == contact_id)
    if not conds:
        return 0
    tasks = db.session.scalars(select(task).where(or_(*conds))).all()
    for row in tasks:
        row.notes = None
        if hasattr(row, "phone"):
            row.phone = ERASED
    if tasks:
        attempts = db.session.scalars(
            select(attempt).where(attempt.task_id.in_([t.id for t in tasks]))
        ).all()
        for a in attempts:
            if hasattr(a, "to_number"):
                a.to_number = ERASED
    return len(tasks)


def median_minutes(values: Iterable[timedelta]) -> float | None:
    minutes = [v.total_seconds() / 60 for v in values]
    return round(statistics.median(minutes), 1) if minutes else None
