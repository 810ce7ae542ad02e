"""JSON API for CRMs and tests: the callback queue and its transitions (bearer API_TOKEN).

``GET /api/callbacks?status=open`` lists tasks (``open`` = every task not closed; any
state name filters exactly; ``all`` lists everything). Transitions are POSTs naming the
agent by ``agent_id`` or ``agent_email``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from callbacks import actions, dialing, promise, reading, states, unrecorded
from callbacks.models import CallbackTask, TaskState
from callbacks.policy import OUTCOMES
from core.api import error, invalid, query_args, read_body, token_required
from core.db import db, utcnow
from core.models import CallSession, User
from core.nul import refuse_nul_json
from core.payload import Field, Invalid, Shape, Values
from core.twilio_params import db_id

bp = Blueprint("callbacks_api", __name__, url_prefix="/api/callbacks")
bp.before_request(refuse_nul_json)


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def task_json(
    task: CallbackTask, *, detail: bool = True, sessions: list[CallSession] | None = None
) -> dict[str, Any]:
    if sessions is None:
        sessions = reading.task_sessions(task)
    recording, analysis = reading.comment(sessions) if detail else (None, None)
    transcript = analysis.text if analysis else (recording.transcript if recording else None)
    now = utcnow()
    missing = unrecorded.missing(task, now)
    promises = [promise_json(m) for m in promise.every(task, now, sessions)] if detail else []
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
        # The call ended past the grace period with no outcome recorded (None otherwise).
        "outcome_missing": None
        if missing is None
        else {
            "call_ended_at": iso(missing.ended_at),
            "due_at": iso(missing.due_at),
            "escalated": missing.escalated,
            "says": missing.says,
        },
        # Every promise made to the caller on the task's calls, newest first (detail only).
        "promises": promises,
        "notes": task.notes,
        "claimed_by": task.claimed_by.email if task.claimed_by else None,
        "session_id": task.session_id,
        "contact_id": task.contact_id,
        "created_at": iso(task.created_at),
        "closed_at": iso(task.closed_at),
    }


def promise_json(made: promise.Made) -> dict[str, Any]:
    """One promise: when it was said, what the caller heard, and whether it was kept."""
    return {
        "promised_at": iso(made.at),
        "said": made.keeping.said,
        "by": iso(made.keeping.by),
        "status": made.status,
        "confirmed": not made.keeping.pending,
        "verdict": made.says,
        "session_id": made.session_id,
    }


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **extra}


# What task_json returns, for the OpenAPI description (kept beside it so they change together).
TASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "phone", "state", "priority", "reasons", "due_at", "scheduled_for"],
    "properties": {
        "id": {"type": "integer"},
        "phone": {"type": "string"},
        "priority": {"type": "integer"},
        "priority_label": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "object"}},
        "state": {"type": "string", "enum": [s.value for s in TaskState]},
        "due_at": {"type": "string", "format": "date-time"},
        "scheduled_for": {"type": "string", "format": "date-time"},
        "timezone": {"type": "string"},
        "preference": _nullable("string"),
        "escalated": {"type": "boolean"},
        "scores": {"type": "object", "additionalProperties": _nullable("integer")},
        "transcript": _nullable("string"),
        "flags": {"type": "array", "items": {"type": "string"}},
        "attempts": {"type": "integer"},
        "outcome": _nullable("string"),
        "outcome_missing": _nullable(
            "object",
            properties={
                "call_ended_at": {"type": "string", "format": "date-time"},
                "due_at": {"type": "string", "format": "date-time"},
                "escalated": {"type": "boolean"},
                "says": {"type": "string"},
            },
        ),
        "promises": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "promised_at": {"type": "string", "format": "date-time"},
                    "said": {"type": "string"},
                    "by": {"type": "string", "format": "date-time"},
                    "status": {"type": "string", "enum": ["kept", "missed", "open", "replaced"]},
                    "confirmed": {"type": "boolean"},
                    "verdict": {"type": "string"},
                    "session_id": {"type": "integer"},
                },
            },
        },
        "notes": _nullable("string"),
        "claimed_by": _nullable("string"),
        "session_id": _nullable("integer"),
        "contact_id": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "closed_at": _nullable("string", format="date-time"),
    },
}
ATTEMPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["attempt_id", "status"],
    "properties": {"attempt_id": {"type": "integer"}, "status": {"type": "string"}},
}


def refused(exc: actions.ActionRefused) -> tuple[Response, int]:
    return error(exc.code, str(exc), exc.status)


AGENT_FIELDS = (
    Field("agent_id", "integer", "the agent's user id", example=1),
    Field("agent_email", "string", "the agent's e-mail (instead of agent_id)", max_length=254),
)
AGENT = Shape(AGENT_FIELDS, one_of=("agent_id", "agent_email"), example={"agent_id": 1})
RESCHEDULE = Shape(
    (
        *AGENT_FIELDS,
        Field(
            "at",
            "date-time",
            "when to call, with a UTC offset; moved into the callee's calling hours "
            "and at most RESCHEDULE_MAX_DAYS ahead",
            required=True,
        ),
    ),
    one_of=("agent_id", "agent_email"),
    example={"agent_id": 1, "at": "2030-01-31T15:00:00+00:00"},
)
OUTCOME = Shape(
    (
        *AGENT_FIELDS,
        Field("outcome", "enum", "how the call went", required=True, choices=tuple(OUTCOMES)),
        Field("notes", "string", "the agent's notes", nullable=True, max_length=4000),
        Field(
            "retry_at",
            "date-time",
            "when to try again (follow_up, no_answer, voicemail); a default otherwise",
            nullable=True,
        ),
    ),
    one_of=("agent_id", "agent_email"),
    example={"agent_id": 1, "outcome": "resolved", "notes": "Refund issued."},
)
SHAPES = {"claim": AGENT, "release": AGENT, "call": AGENT, "reschedule": RESCHEDULE}
# "open" is both a filter (every task not closed) and a state: named once.
STATUS_FILTERS = tuple(dict.fromkeys(("open", "all", *(s.value for s in TaskState))))


def agent_from(body: Values) -> User | None:
    agent_id, email = body.integer("agent_id"), body.text("agent_email")
    if agent_id is not None:
        return db.session.get(User, agent_id)  # bounded to INTEGER by the shape
    if email is not None:
        return db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    return None


def task_id_ok(task_id: int) -> tuple[Response, int] | None:
    """A 404 for an id no task can have (past INTEGER), before it reaches a query."""
    if db_id(task_id):
        return None
    return error("not_found", f"there is no callback task {task_id}", 404)


@bp.get("")
@token_required
@query_args("status")
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
            return error("bad_request", f"status must be one of {', '.join(STATUS_FILTERS)}", 400)
    tasks = reading.queue(wanted)
    sessions = reading.sessions_for_tasks(tasks)
    items = [task_json(t, sessions=sessions[t.id]) for t in tasks]
    return jsonify({"callbacks": items, "count": len(tasks)})


@bp.get("/<int:task_id>")
@token_required
@query_args()
def show(task_id: int) -> Any:
    if (bad := task_id_ok(task_id)) is not None:
        return bad
    try:
        return jsonify(task_json(actions.get_task(task_id)))
    except actions.ActionRefused as exc:
        return refused(exc)


def _act(task_id: int, action: str) -> Any:
    if (bad := task_id_ok(task_id)) is not None:
        return bad
    try:
        body = read_body(SHAPES.get(action, OUTCOME))
    except Invalid as exc:
        return invalid(exc)
    agent = agent_from(body)
    if agent is None or not agent.active:
        return error("unknown_agent", "no active agent has that agent_id or agent_email", 400)
    try:
        if action == "claim":
            task = actions.claim(task_id, agent)
        elif action == "release":
            task = actions.release(task_id, agent)
        elif action == "call":
            attempt = dialing.start_call(task_id, agent)
            return jsonify({"attempt_id": attempt.id, "status": attempt.status.value}), 202
        elif action == "reschedule":
            at = body.time("at")
            assert at is not None  # required by the shape
            actions.reschedule(task_id, agent, at)
            task = actions.get_task(task_id)
        else:
            task = actions.record_outcome(
                task_id,
                agent,
                body.text("outcome") or "",
                body.text("notes") or "",
                retry_at=body.time("retry_at"),
            )
    except actions.ActionRefused as exc:
        return refused(exc)
    return jsonify(task_json(task))


@bp.post("/<int:task_id>/claim")
@token_required
@query_args()
def claim(task_id: int) -> Any:
    return _act(task_id, "claim")


@bp.post("/<int:task_id>/release")
@token_required
@query_args()
def release(task_id: int) -> Any:
    return _act(task_id, "release")


@bp.post("/<int:task_id>/outcome")
@token_required
@query_args()
def outcome(task_id: int) -> Any:
    return _act(task_id, "outcome")


@bp.post("/<int:task_id>/reschedule")
@token_required
@query_args()
def reschedule(task_id: int) -> Any:
    return _act(task_id, "reschedule")


@bp.post("/<int:task_id>/call")
@token_required
@query_args()
def call(task_id: int) -> Any:
    return _act(task_id, "call")
