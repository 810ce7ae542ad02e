"""Agent console: the queue with live SLA countdowns, the task page, and its actions.

Teams are sealed off here: the queue lists only the signed-in person's tasks
(``reading.task_scope``), and every route naming a task is wrapped in ``team_task``, which
answers 404 for a task they may not see, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from callbacks import actions, dialing, policy, promise, reading, script, unrecorded
from callbacks.api import task_json
from callbacks.models import TaskState
from core.auth import roles_required
from core.db import utcnow
from core.models import CALLBACK_TIME_WORDS, Role, User
from core.nul import refuse_nul
from transcription.highlight import highlight

bp = Blueprint(
    "callbacks",
    __name__,
    url_prefix="/callbacks",
    template_folder="templates",
    static_folder="static",
)
bp.before_request(refuse_nul)
STAFF = (Role.AGENT, Role.MANAGER, Role.ADMIN)


def agent() -> User:
    user: User = current_user._get_current_object()
    return user


def missing(task_id: int) -> tuple[str, int]:
    return render_template("callbacks/missing.html", task_id=task_id), 404


def team_task(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let the view run only for a task the signed-in person may see; 404 otherwise.

    Goes under ``roles_required`` so that signing in comes first. The view then loads the
    task by id again, which the session's identity map answers without a query.
    """

    @wraps(view)
    def guarded(task_id: int, **kwargs: Any) -> Any:
        try:
            actions.task_for(agent(), task_id)
        except actions.ActionRefused:
            return missing(task_id)
        return view(task_id, **kwargs)

    return guarded


def _queue_page(status: int = 200) -> tuple[str, int]:
    tasks = reading.queue(viewer=agent())
    sessions = reading.sessions_for_tasks(tasks, viewer=agent())
    reasons = {t.id: reading.reasons_seen(t, sessions[t.id]) for t in tasks}
    now = utcnow()
    missing = {t.id: unrecorded.missing(t, now) for t in tasks}
    page = render_template(
        "callbacks/queue.html", tasks=tasks, reasons=reasons, missing=missing, now=now
    )
    return page, status


@bp.get("/")
@roles_required(*STAFF)
def queue() -> Any:
    return _queue_page()


@bp.get("/queue.json")
@roles_required(*STAFF)
def queue_json() -> Any:
    tasks = reading.queue(viewer=agent())
    sessions = reading.sessions_for_tasks(tasks, viewer=agent())
    items = [
        task_json(t, detail=False, sessions=sessions[t.id])
        | {
            "reasons": reading.reasons_seen(t, sessions[t.id]),
            "url": url_for(".task", task_id=t.id),
        }
        for t in tasks
    ]
    return jsonify({"now": utcnow().isoformat(), "callbacks": items})


@bp.get("/<int:task_id>")
@roles_required(*STAFF)
@team_task
def task(task_id: int) -> Any:
    item = actions.get_task(task_id)
    now = utcnow()
    sessions = reading.task_sessions(item, viewer=agent())
    scores = reading.scores(sessions)
    recording, analysis = reading.comment(sessions)
    calls, other_tasks = reading.history(item, viewer=agent())
    player = (
        url_for("dashboard.recording_audio", recording_id=recording.id)
        if recording is not None
        and recording.local_path
        and "dashboard.recording_audio" in current_app.view_functions
        else None
    )
    return render_template(
        "callbacks/task.html",
        task=item,
        reasons=reading.reasons_seen(item, sessions),
        sessions=sessions,
        scores=scores,
        recording=recording,
        analysis=analysis,
        segments=highlight(analysis) if analysis else [],
        player=player,
        calls=calls,
        other_tasks=other_tasks,
        steps=script.apology(item, scores, analysis),
        outcomes=policy.OUTCOMES,
        preference=CALLBACK_TIME_WORDS.get(item.preference or "", None),
        promise=promise.of_task(item, now, sessions),
        promises=promise.every(item, now, sessions),
        missing=unrecorded.missing(item, now),
        local_now=reading.local_time(item, now),
        local=lambda at: reading.local_time(item, at),
        now=now,
        is_mine=item.claimed_by_id == agent().id,
        states=TaskState,
    )


def _back(task_id: int) -> Any:
    return redirect(url_for(".task", task_id=task_id))


@bp.post("/<int:task_id>/claim")
@roles_required(*STAFF)
@team_task
def claim(task_id: int) -> Any:
    try:
        actions.claim(task_id, agent())
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return _queue_page(exc.status)
    flash(f"You claimed task {task_id}.", "info")
    return _back(task_id)


@bp.post("/<int:task_id>/call")
@roles_required(*STAFF)
@team_task
def call(task_id: int) -> Any:
    try:
        dialing.start_call(task_id, agent())
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return _back(task_id)
    flash(f"Calling your phone ({agent().phone}) now: answer it to be connected.", "info")
    return _back(task_id)


@bp.post("/<int:task_id>/release")
@roles_required(*STAFF)
@team_task
def release(task_id: int) -> Any:
    try:
        actions.release(task_id, agent())
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return _back(task_id)
    flash(f"Task {task_id} is back in the queue.", "info")
    return redirect(url_for(".queue"))


def _local_input(task_id: int, value: str) -> datetime | None:
    """A datetime-local field, read in the callee's time zone."""
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return None
    return naive.replace(tzinfo=policy.task_zone(actions.get_task(task_id)))


@bp.post("/<int:task_id>/outcome")
@roles_required(*STAFF)
@team_task
def outcome(task_id: int) -> Any:
    try:
        actions.record_outcome(
            task_id,
            agent(),
            request.form.get("outcome", ""),
            request.form.get("notes", ""),
            retry_at=_local_input(task_id, request.form.get("retry_at", "")),
        )
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return _back(task_id)
    label = policy.OUTCOMES[request.form["outcome"]]
    flash(f"Outcome recorded: {label}.", "info")
    return redirect(url_for(".queue"))


@bp.post("/<int:task_id>/reschedule")
@roles_required(*STAFF)
@team_task
def reschedule(task_id: int) -> Any:
    at = _local_input(task_id, request.form.get("at", ""))
    if at is None:
        flash("Pick a date and time.", "error")
        return _back(task_id)
    try:
        actions.reschedule(task_id, agent(), at)
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return _back(task_id)
    flash(f"Task {task_id} rescheduled.", "info")
    return redirect(url_for(".queue"))
