"""Callbacks: rules that open tasks, the SLA queue, dialing and the agent console."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console, API and Twilio blueprints and the end-of-survey hook."""
    from callbacks import api, console, models, voice  # noqa: F401 - models: Alembic sees them
    from callbacks.jobs import on_survey_finished
    from ivr import lifecycle

    app.register_blueprint(console.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(voice.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # signed by Twilio / bearer token instead
        csrf.exempt(api.bp)
        csrf.exempt(voice.bp)
    if on_survey_finished not in lifecycle.finish_hooks:
        lifecycle.finish_hooks.append(on_survey_finished)
