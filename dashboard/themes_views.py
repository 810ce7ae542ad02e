"""The Themes page: what callers' comments are about, ranked by volume over a period, with
the flagged share, average NPS, a weekly sparkline, the callers' own words and whether a
theme is rising; managers rename and merge themes here. Thin handlers over ``themes``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.access import session_scope
from core.auth import roles_required
from core.db import utcnow
from core.models import Role, User
from core.nul import refuse_nul
from dashboard import flags, queries
from dashboard.args import ID
from dashboard.sparklines import sparkline
from themes import grouping, manage, report, rising, store

bp = Blueprint("themes_page", __name__, url_prefix="/dashboard")
bp.before_request(refuse_nul)

MANAGERS = (Role.MANAGER, Role.ADMIN)
PERIODS = (7, 28, 90, 365)
DEFAULT_DAYS = 28


@bp.context_processor
def _nav() -> dict[str, Any]:
    return {"callbacks_console": "callbacks.queue" in current_app.view_functions}


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return,unused-ignore]


def _days(raw: str | None) -> int:
    days = queries.int_arg(raw)
    return days if days in PERIODS else DEFAULT_DAYS


@bp.get("/themes")
@roles_required(*MANAGERS)
def themes() -> Any:
    """Themes of the chosen period, largest first (the manager's teams' calls only)."""
    days = _days(request.args.get("days"))
    scope = session_scope(_user())
    weeks = max(8, min(26, -(-days // 7)))
    found = report.build(scope, days, utcnow(), weeks=weeks, flagged=flags.any_reason_condition())
    labels = [f"week of {w.strftime('%d %b')}" for w in found.weeks]
    return render_template(
        "dashboard/themes.html",
        report=found,
        days=days,
        periods=PERIODS,
        since=found.since.date(),
        until=(found.now - timedelta(seconds=1)).date(),
        sparks={
            row.id: sparkline(row.weekly, labels, f"{row.name}: comments per week")
            for row in found.rows
        },
        choices=report.live_choices(scope),
        rising_rule=rising,
        min_size=grouping.MIN_THEME_SIZE,
    )


def _back() -> Any:
    return redirect(url_for("themes_page.themes", days=_days(request.form.get("days"))))


@bp.post(f"/themes/<{ID}:theme_id>/rename")
@roles_required(*MANAGERS)
def rename(theme_id: int) -> Any:
    """Give a theme a name of your own; it sticks through rebuilds."""
    try:
        theme = manage.rename(theme_id, request.form.get("name", ""), _user())
    except manage.ThemeError as exc:
        flash(str(exc), "error")
        return _back()
    flash(f"Renamed to “{theme.name}”. New comments and rebuilds keep this name.", "info")
    return _back()


@bp.post(f"/themes/<{ID}:theme_id>/merge")
@roles_required(*MANAGERS)
def merge(theme_id: int) -> Any:
    """Merge a theme into another: its comments move there, for good."""
    into = queries.int_arg(request.form.get("into"))
    if into is None:
        flash("Choose the theme to merge into.", "error")
        return _back()
    try:
        target = manage.merge(theme_id, into, _user())
    except (manage.ThemeError, store.Busy) as exc:
        flash(str(exc), "error")
        return _back()
    flash(f"Merged into “{target.name}”.", "info")
    return _back()
