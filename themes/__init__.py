"""Themes: what callers' comments are about, grouped by meaning and named from their words.

Public entry points: ``assign.assign_new`` (the ``assign_themes`` job), ``rebuild.rebuild``
(``flask themes rebuild``), ``alerts.alert_rising`` (the ``alert_rising_themes`` job),
``report`` (what the Themes page and the API show), ``manage`` (rename, merge),
``privacy.forget_erased`` (an erased caller's comments leave their themes). Beside
callbacks, above transcription (whose embedding model it uses); it knows no callbacks.
"""

from __future__ import annotations

from flask import Flask

from themes import api, cli, models  # noqa: F401 - models: Alembic sees them


def init_app(app: Flask) -> None:
    """Register ``GET /api/themes`` (bearer, so no CSRF) and ``flask themes``."""
    app.register_blueprint(api.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(api.bp)
    app.cli.add_command(cli.cli)
