"""Reading tasks for people: the queue, a task's calls, scores, comment and history.

Teams: a person sees the tasks opened by a survey call they may see (``task_scope``, built
on ``core.access``), and of a task only the calls they may see. Functions taking a
``viewer`` apply it; ``viewer=None`` reads every team's rows, for the bearer API that
integrations use and for jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import selectinload

from callbacks import states
from callbacks.models import CallbackTask, TaskState
from callbacks.policy import task_zone
from core.access import session_scope
from core.db import db
from core.models import Answer, CallSession, Recording, Role, User
from transcription.analysis import CommentAnalysis


def latest_analysis(session: CallSession) -> tuple[Recording, CommentAnalysis] | None:
    analysed = [r for r in session.recordings if r.analysis]
    if not analysed:
        return None
    rec = analysed[-1]
    assert rec.analysis is not None
    return rec, CommentAnalysis.from_dict(rec.analysis)


def task_scope(user: User) -> ColumnElement[bool]:
    """Condition on ``CallbackTask``: the tasks ``user`` may see and act on.

    A task belongs to the survey of the call that opened it (``session_id``). Admins see
    every task, including one without an opening call; nobody else sees those.
    """
    if user.role is Role.ADMIN:
        return true()
    return CallbackTask.session_id.in_(select(CallSession.id).where(session_scope(user)))


def _tasks_seen_by(viewer: User | None) -> ColumnElement[bool]:
    return true() if viewer is None else task_scope(viewer)


def _calls_seen_by(viewer: User | None) -> ColumnElement[bool]:
    return true() if viewer is None else session_scope(viewer)


def queue(
    states_filter: tuple[TaskState, ...] = states.ACTIVE, *, viewer: User | None = None
) -> list[CallbackTask]:
    """Tasks by priority (highest first), then due time (soonest first)."""
    return list(
        db.session.scalars(
            db.select(CallbackTask)
            .where(CallbackTask.state.in_(states_filter))
            .where(_tasks_seen_by(viewer))
            # the attempts say whether a completed task is missing its outcome
            # (callbacks.unrecorded): one query for the page, not one per task
            .options(selectinload(CallbackTask.claimed_by), selectinload(CallbackTask.attempts))
            .order_by(CallbackTask.priority.desc(), CallbackTask.due_at, CallbackTask.id)
        )
    )


def sessions_for_tasks(
    tasks: list[CallbackTask], *, viewer: User | None = None
) -> dict[int, list[CallSession]]:
    """Each task's survey calls, oldest first, with answers and recordings: one round trip
    for the whole list, since the queue is polled by every agent every few seconds.

    One contact has one open task, so a task can gather calls to several teams' surveys;
    a viewer gets only the calls they may see."""
    wanted = {task.id: task.session_ids for task in tasks}
    all_ids = set().union(*wanted.values()) if wanted else set()
    loaded = (
        {
            s.id: s
            for s in db.session.scalars(
                db.select(CallSession)
                .where(CallSession.id.in_(all_ids))
                .where(_calls_seen_by(viewer))
                .options(
                    selectinload(CallSession.answers).selectinload(Answer.question),
                    selectinload(CallSession.recordings),
                )
            )
        }
        if all_ids
        else {}
    )
    return {
        task_id: [loaded[i] for i in sorted(ids) if i in loaded] for task_id, ids in wanted.items()
    }


def reasons_seen(task: CallbackTask, sessions: list[CallSession]) -> list[dict[str, Any]]:
    """The task's reasons that come from ``sessions`` (the calls a viewer may see, as
    ``sessions_for_tasks`` gave them) or from no call: a reason's detail can quote the
    caller's words, so another team's call keeps its reasons to itself."""
    seen = {s.id for s in sessions}
    return [r for r in task.reasons if r.get("session_id") is None or r["session_id"] in seen]


def task_sessions(task: CallbackTask, *, viewer: User | None = None) -> list[CallSession]:
    """The survey calls that gave this task its reasons, oldest first."""
    return sessions_for_tasks([task], viewer=viewer)[task.id]


def scores(sessions: list[CallSession]) -> dict[str, int | None]:
    """Answers by question key; a later call's answer wins."""
    found: dict[str, int | None] = {}
    for session in sessions:
        for answer in session.answers:
            found[answer.question.key] = answer.value
    return found


def comment(sessions: list[CallSession]) -> tuple[Recording | None, CommentAnalysis | None]:
    """The latest recorded comment and its analysis, if any."""
    for session in reversed(sessions):
        found = latest_analysis(session)
        if found is not None:
            return found
        with_text = [r for r in session.recordings if r.transcript]
        if with_text:
            return with_text[-1], None
    return None, None


def history(
    task: CallbackTask, *, viewer: User | None = None
) -> tuple[list[CallSession], list[CallbackTask]]:
    """The contact's earlier survey calls and callback tasks, newest first."""
    calls = db.session.scalars(
        db.select(CallSession)
        .where(CallSession.contact_id == task.contact_id)
        .where(_calls_seen_by(viewer))
        .order_by(CallSession.id.desc())
        .limit(20)
    ).all()
    tasks = db.session.scalars(
        db.select(CallbackTask)
        .where(CallbackTask.contact_id == task.contact_id)
        .where(CallbackTask.id != task.id)
        .where(_tasks_seen_by(viewer))
        .order_by(CallbackTask.id.desc())
        .limit(20)
    ).all()
    return list(calls), list(tasks)


def local_time(task: CallbackTask, at: datetime) -> datetime:
    return at.astimezone(task_zone(task))
