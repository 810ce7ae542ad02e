"""Dashboard pages: thin handlers over the domain modules of this package."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from ivr.auth import roles_required
from ivr.dashboard import access, callback_link, detail, exports, flags, queries
from ivr.db import db
from ivr.models import Role, User

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
MANAGERS = (Role.MANAGER, Role.ADMIN)
EVERYONE = (Role.AGENT, Role.MANAGER, Role.ADMIN)


@bp.context_processor
def _nav() -> dict[str, Any]:
    return {"callbacks_console": "callbacks.queue" in current_app.view_functions}


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return,unused-ignore]


def _agents() -> list[User]:
    return list(
        db.session.scalars(db.select(User).where(User.role == Role.AGENT).order_by(User.email))
    )


@bp.get("/")
@roles_required(*MANAGERS)
def index() -> Any:
    """The manager start page: flagged calls with filters and paging."""
    filters = queries.Filters.from_args(request.args)
    page = queries.flagged_page(_user(), filters)
    return render_template(
        "dashboard/flagged.html",
        page=page,
        filters=filters,
        reasons=flags.REASONS,
        surveys=access.visible_surveys(_user()),
        agents=_agents(),
        callback_states=callback_link.states(),
        callbacks_available=callback_link.available(),
    )


@bp.get("/flagged.csv")
@roles_required(*MANAGERS)
def flagged_csv() -> Response:
    """The filtered flagged list as CSV (all pages)."""
    filters = queries.Filters.from_args(request.args)
    body = exports.to_csv(queries.all_flagged(_user(), filters))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=flagged-calls.csv"},
    )


@bp.get("/calls/<int:session_id>")
@roles_required(*MANAGERS)
def call_detail(session_id: int) -> Any:
    """Answers, player, highlighted transcript and the timeline of one call."""
    session = queries.session_detail(session_id)
    if session is None:
        abort(404)
    if not access.can_see_session(_user(), session):
        abort(403)
    callback = callback_link.summaries([session.id], with_attempts=True).get(session.id)
    return render_template(
        "dashboard/call.html",
        s=session,
        reasons=flags.reasons_for(session),
        scores=queries.scores_of(session),
        caller=queries.mask_number(session.customer_number),
        transcripts=[(r, detail.highlight(r)) for r in session.recordings if r.transcript],
        playable=[r for r in session.recordings if audio_available(r)],
        callback=callback,
        steps=detail.timeline(session, callback),
        audit=detail.audit_trail(session),
    )


def audio_available(rec: Any) -> bool:
    from ivr.dashboard.audio import local_file

    return local_file(rec) is not None


@bp.get("/recordings/<int:recording_id>/audio")
@roles_required(*EVERYONE)
def recording_audio(recording_id: int) -> Response:
    """Stream a recording (Range supported) to someone who may see its call; audited."""
    from ivr.dashboard import audio

    rec = queries.recording(recording_id)
    if rec is None:
        abort(404)
    if not access.can_see_session(_user(), rec.session):
        abort(403)
    return audio.stream(rec, _user().id, download=request.args.get("download") == "1")


@bp.get("/trends")
@roles_required(*MANAGERS)
def trends() -> Any:
    """Scores, rates and callback timing per day or week, as charts."""
    return render_template("dashboard/trends.html")


@bp.get("/surveys")
@roles_required(*MANAGERS)
def surveys() -> Any:
    """Surveys the manager may edit."""
    return render_template("dashboard/surveys.html", surveys=access.visible_surveys(_user()))


@bp.route("/privacy", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def privacy() -> Any:
    """Retention settings and "delete this caller's data"."""
    return render_template("dashboard/privacy.html")
