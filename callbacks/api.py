"""JSON API for CRMs and tests: the callback queue and its transitions (bearer API_TOKEN).

``GET /api/callbacks?status=open`` lists tasks (``open`` = every task not closed; any
state name filters exactly; ``all`` lists everything). Transitions are POSTs naming the
agent by ``agent_id`` or ``agent_email``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from callbacks import actions, dialing, reading, states
from callbacks.models import CallbackTask, TaskState
from core.api import error, token_required
from core.db import db
from core.models import CallSession, User

bp = Blueprint("callbacks_api", __name__, url_prefix="/api/callbacks")


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def task_json(
    task: CallbackTask, *, detail: bool = True, sessions: list[CallSession] | None = None
) -> dict[str, Any]:
    if sessions is None:
        sessions = reading.task_sessions(task)
    recording, analysis = reading.comment(sessions) if detail else (None, None)
    transcript = analysis.text if analysis else (recording.transcript if recording else None)
    return {
        "id": task.id,
        "phone": task.phone,
        "priority": task.priority,
        "priority_label": task.priority_label,
        "reasons": task.reasons,
        "state": task.state.value,
        "due_at": iso(task.due_at),
        "scheduled_for": iso(task.scheduled_for),
        "timezone": task.timezone,
        "preference": task.preference,
        "escalated": task.escalated_at is not None,
        "scores": reading.scores(sessions),
        "transcript": transcript,
        "flags": analysis.flagged() if analysis else [],
        "attempts": task.attempts_count,
        "outcome": task.outcome,
        "notes": task.notes,
        "claimed_by": task.claimed_by.email if task.claimed_by else None,
        "session_id": task.session_id,
        "contact_id": task.contact_id,
        "created_at": iso(task.created_at),
        "closed_at": iso(task.closed_at),
    }


def refused(exc: actions.ActionRefused) -> tuple[Response, int]:
    return error(exc.code, str(exc), exc.status)


def agent_from(body: dict[str, Any]) -> User | None:
    if isinstance(body.get("agent_id"), int):
        return db.session.get(User, body["agent_id"])
    if isinstance(body.get("agent_email"), str):
        email = body["agent_email"].strip().lower()
        return db.session.scalar(db.select(User).where(User.email == email))
    return None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


@bp.get("")
@token_required
def list_tasks() -> Any:
    status = request.args.get("status", "open")
    if status == "open":
        wanted: tuple[TaskState, ...] = states.ACTIVE
    elif status == "all":
        wanted = tuple(TaskState)
    else:
        try:
            wanted = (TaskState(status),)
        except ValueError:
            names = ", ".join(["open", "all", *(s.value for s in TaskState)])
            return error("bad_request", f"status must be one of {names}", 400)
    tasks = reading.queue(wanted)
    sessions = reading.sessions_for_tasks(tasks)
    items = [task_json(t, sessions=sessions[t.id]) for t in tasks]
    return jsonify({"callbacks": items, "count": len(tasks)})


@bp.get("/<int:task_id>")
@token_required
def show(task_id: int) -> Any:
    try:
        return jsonify(task_json(actions.get_task(task_id)))
    except actions.ActionRefused as exc:
        return refused(exc)


def _act(task_id: int, action: str) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = {}
    agent = agent_from(body)
    if agent is None or not agent.active:
        return error("bad_request", 'name the agent: {"agent_id": 1} or {"agent_email": ...}', 400)
    try:
        if action == "claim":
            task = actions.claim(task_id, agent)
        elif action == "release":
            task = actions.release(task_id, agent)
        elif action == "call":
            attempt = dialing.start_call(task_id, agent)
            return jsonify({"attempt_id": attempt.id, "status": attempt.status.value}), 202
        elif action == "reschedule":
            at = parse_time(body.get("at"))
            if at is None:
                return error("bad_request", '"at" must be an ISO time with an offset', 400)
            actions.reschedule(task_id, agent, at)
            task = actions.get_task(task_id)
        else:
            retry_at = parse_time(body.get("retry_at"))
            task = actions.record_outcome(
                task_id,
                agent,
                str(body.get("outcome", "")),
                str(body.get("notes", "")),
                retry_at=retry_at,
            )
    except actions.ActionRefused as exc:
        return refused(exc)
    return jsonify(task_json(task))


@bp.post("/<int:task_id>/claim")
@token_required
def claim(task_id: int) -> Any:
    return _act(task_id, "claim")


@bp.post("/<int:task_id>/release")
@token_required
def release(task_id: int) -> Any:
    return _act(task_id, "release")


@bp.post("/<int:task_id>/outcome")
@token_required
def outcome(task_id: int) -> Any:
    return _act(task_id, "outcome")


@bp.post("/<int:task_id>/reschedule")
@token_required
def reschedule(task_id: int) -> Any:
    return _act(task_id, "reschedule")


@bp.post("/<int:task_id>/call")
@token_required
def call(task_id: int) -> Any:
    return _act(task_id, "call")
