"""Callbacks: rules that open tasks, the SLA queue, dialing and the agent console.

Public entry points for other packages: ``evaluation.on_survey_finished`` /
``evaluation.evaluate_session`` (the one way callback decisions are made), ``rules``
(the trigger table the dashboard's flags read) and ``links`` (what the dashboard may know
about tasks, and erasing a caller's callback data).
"""

from __future__ import annotations

from flask import Flask

from callbacks import api, console, models, voice  # noqa: F401 - models: Alembic sees them


def init_app(app: Flask) -> None:
    """Register the console, API and Twilio blueprints."""
    app.register_blueprint(console.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(voice.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # signed by Twilio / bearer token instead
        csrf.exempt(api.bp)
        csrf.exempt(voice.bp)
