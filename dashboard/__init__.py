"""Manager dashboard: flagged recordings, trends, survey editor, try-a-survey, retention."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from dashboard import admin_views, privacy_api, themes_views
from dashboard.views import bp


def init_app(app: Flask) -> None:
    """Register the dashboard blueprints (mounted at /dashboard; start page ``dashboard.index``)
    and the privacy API (/api/dnc, /api/contacts)."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(themes_views.bp)
    app.register_blueprint(privacy_api.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # the bearer token authenticates API calls instead
        csrf.exempt(privacy_api.bp)
    app.jinja_env.filters.setdefault("duration", _duration)


def _duration(value: object) -> str:
    """A timedelta as '4 min' / '2 h 5 min' / '3 d'."""
    if not isinstance(value, timedelta):
        return ""
    minutes = int(value.total_seconds() // 60)
    if minutes < 0:
        return "-"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"
