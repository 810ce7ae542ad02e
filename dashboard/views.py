"""Dashboard pages: thin handlers over the domain modules of this package."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from callbacks import links
from core import contacts
from core.api import json_body
from core.auth import roles_required
from core.db import db
from core.models import QuestionKind, Role, Survey, Team, User
from core.nul import refuse_nul
from dashboard import (
    access,
    audio,
    charts,
    detail,
    editor,
    erasure,
    exports,
    flags,
    queries,
    tryit,
    tryit_text,
)
from dashboard import trends as trends_mod
from dashboard.args import ID
from themes import report as theme_report
from transcription import retention

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)
bp.before_request(refuse_nul)

MANAGERS = (Role.MANAGER, Role.ADMIN)
EVERYONE = (Role.AGENT, Role.MANAGER, Role.ADMIN)


@bp.context_processor
def _nav() -> dict[str, Any]:
    return {"callbacks_console": "callbacks.queue" in current_app.view_functions}


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return,unused-ignore]


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
        agents=access.visible_agents(_user()),
        callback_states=links.STATES,
        theme_name=theme_report.theme_name(filters.theme_id) if filters.theme_id else None,
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


@bp.get(f"/calls/<{ID}:session_id>")
@roles_required(*MANAGERS)
def call_detail(session_id: int) -> Any:
    """Answers, player, highlighted transcript and the timeline of one call."""
    session = queries.session_detail(session_id)
    if session is None:
        abort(404)
    if not access.can_see_session(_user(), session):
        abort(403)
    callback = links.timeline(session.id)
    return render_template(
        "dashboard/call.html",
        s=session,
        reasons=flags.reasons_for(session),
        scores=queries.scores_of(session),
        caller=queries.mask_number(session.customer_number),
        transcripts=[(r, detail.highlight(r)) for r in session.recordings if r.transcript],
        playable=[r for r in session.recordings if audio.playable(r)],
        callback=callback,
        promise=links.promise_kept(session, callback),
        promises=links.promises(callback.task_id, viewer=_user()) if callback else [],
        steps=detail.timeline(session, callback),
        audit=detail.audit_trail(session),
    )


@bp.get(f"/recordings/<{ID}:recording_id>/audio")
@roles_required(*EVERYONE)
def recording_audio(recording_id: int) -> Response:
    """Stream a recording (Range supported) to someone who may see its call; audited."""
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
    filters = trends_mod.TrendFilters.from_args(request.args)
    result = trends_mod.compute(_user(), filters)
    return render_template(
        "dashboard/trends.html",
        t=result,
        filters=filters,
        charts=charts.trend_charts(result),
        surveys=access.visible_surveys(_user()),
    )


@bp.get("/surveys")
@roles_required(*MANAGERS)
def surveys() -> Any:
    """Surveys the manager may edit and try."""
    return render_template(
        "dashboard/surveys.html",
        surveys=access.visible_surveys(_user()),
        teams=db.session.scalars(db.select(Team).order_by(Team.name)).all(),
        errors={},
    )


@bp.post("/surveys")
@roles_required(*MANAGERS)
def survey_create() -> Any:
    """Create a survey (starting from the demo questions) and open it in the editor."""
    user = _user()
    team_id = user.team_id
    if user.role is Role.ADMIN:
        team_id = queries.int_arg(request.form.get("team_id"))
    try:
        survey = editor.create_survey(
            request.form.get("name", ""), request.form.get("slug", ""), team_id, user
        )
    except editor.Invalid as exc:
        return render_template(
            "dashboard/surveys.html",
            surveys=access.visible_surveys(user),
            teams=db.session.scalars(db.select(Team).order_by(Team.name)).all(),
            errors=exc.errors,
        ), 400
    flash(f"Created “{survey.name}”. Edit its questions, then try it.", "info")
    return redirect(url_for("dashboard.survey_edit", survey_id=survey.id))


def _survey_or_404(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        abort(404)
    if not access.can_see_survey(_user(), survey):
        abort(403)
    return survey


@bp.route(f"/surveys/<{ID}:survey_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def survey_edit(survey_id: int) -> Any:
    """Edit prompts, voice, questions, thresholds and callback rules; saving makes a version."""
    survey = _survey_or_404(survey_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            draft = editor.parse_form(request.form)
        except editor.Invalid as exc:
            errors = exc.errors
            draft = exc.draft or editor.VersionDraft()
        else:
            version = editor.save_version(survey, draft, _user())
            if version is None:
                flash("Nothing changed, so no new version was made.", "info")
            else:
                flash(
                    f"Saved version {version.number}. New calls use it from now on; "
                    "earlier answers stay with the version they answered.",
                    "info",
                )
            return redirect(url_for("dashboard.survey_edit", survey_id=survey.id))
    else:
        draft = (
            editor.VersionDraft.from_version(survey.active_version)
            if survey.active_version
            else editor.starter_draft()
        )
    return render_template(
        "dashboard/survey_edit.html",
        survey=survey,
        draft=draft,
        errors=errors,
        languages=editor.LANGUAGES,
        voices=editor.VOICES,
        kinds=[k.value for k in QuestionKind],
        versions=list(reversed(survey.versions)),
    ), (400 if errors else 200)


@bp.route("/privacy", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def privacy() -> Any:
    """Retention settings and "delete this caller's data"."""
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            flash("Tick the box to confirm: erasure cannot be undone.", "error")
            return render_privacy(400)
        try:
            report = erasure.erase_caller(request.form.get("phone", ""), _user().id)
        except contacts.InvalidNumber:
            flash("That is not a phone number we can read, e.g. +1 415 555 0123.", "error")
            return render_privacy(400)
        flash(report.summary(), "info")
        return redirect(url_for("dashboard.privacy"))
    return render_privacy(200)


def render_privacy(status: int) -> Any:
    return render_template(
        "dashboard/privacy.html",
        retention_days=current_app.config["RECORDING_RETENTION_DAYS"],
        pending=retention.pending_expiry_count(),
        recent=erasure.recent_erasures(),
    ), status


@bp.get(f"/surveys/<{ID}:survey_id>/try")
@roles_required(*MANAGERS)
def try_page(survey_id: int) -> Any:
    """Play the survey in the browser through the same TwiML flow as the phone."""
    survey = _survey_or_404(survey_id)
    return render_template(
        "dashboard/try.html",
        survey=survey,
        version=survey.active_version,
        recording_supported=tryit.recording_supported(),
    )


def _try_error(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(error=message), status


def _json_object() -> dict[str, Any]:
    """The page's JSON body; anything but an object (or no JSON at all) reads as empty."""
    body = json_body()
    return body if isinstance(body, dict) else {}


@bp.post(f"/surveys/<{ID}:survey_id>/try/start")
@roles_required(*MANAGERS)
def try_start(survey_id: int) -> Any:
    """Start a simulated call into the survey's active version; returns the first turn."""
    survey = _survey_or_404(survey_id)
    if survey.active_version is None:
        return _try_error("This survey has no active version yet.")
    try:
        return jsonify(tryit.start(survey, _user().id))
    except tryit.TryItError as exc:
        return _try_error(str(exc), 503)


ENDED = "This try-it call has ended or expired. Start a new one."


@bp.post("/try/<call_id>/respond")
@roles_required(*MANAGERS)
def try_respond(call_id: str) -> Any:
    """Press keys, say something, stay silent or hang up; returns what the caller hears next."""
    try:
        turn = tryit.respond(call_id, _user().id, tryit.action_from(_json_object()))
    except tryit.TryItError as exc:
        return _try_error(str(exc))
    return jsonify(turn) if turn is not None else _try_error(ENDED, 404)


@bp.post(f"/surveys/<{ID}:survey_id>/try/text/start")
@roles_required(*MANAGERS)
def try_text_start(survey_id: int) -> Any:
    """Start a test text survey; returns its first text, shown in the page."""
    survey = _survey_or_404(survey_id)
    if survey.active_version is None:
        return _try_error("This survey has no active version yet.")
    return jsonify(tryit_text.start(survey))


@bp.post(f"/try/text/<{ID}:session_id>/reply")
@roles_required(*MANAGERS)
def try_text_reply(session_id: int) -> Any:
    """Text a reply into the test survey; returns the texts it sends back."""
    text = str(_json_object().get("text", "")).strip()
    if not text:
        return _try_error("Type a reply first.")
    answer = tryit_text.reply(session_id, text)
    return jsonify(answer) if answer is not None else _try_error(ENDED_TEXT, 404)


ENDED_TEXT = "This test text survey has ended, or another one started. Start a new one."


@bp.post("/try/<call_id>/record")
@roles_required(*MANAGERS)
def try_record(call_id: str) -> Any:
    """Speak a comment: an uploaded file or a microphone recording from the browser."""
    upload = request.files.get("audio")
    if upload is None:
        return _try_error("No audio was sent.")
    try:
        turn = tryit.record(call_id, _user().id, upload.read(tryit.MAX_UPLOAD_BYTES + 1))
    except tryit.TryItError as exc:
        return _try_error(str(exc))
    return jsonify(turn) if turn is not None else _try_error(ENDED, 404)
