"""The IVR service: the voice survey (this package) and the app factory that mounts every
domain. ``create_app`` builds it, one ``init_app`` per subsystem; ``flask --app ivr``."""

from __future__ import annotations

# First: thread-pool settings must be in the environment before numpy or torch loads.
import core.native_threads  # noqa: F401

# isort: split
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import callbacks
import dashboard
import texts
import themes
from core import auth, db, errors, redis_client, twilio_auth
from core.config import load_config
from ivr import api, cli, fast_lane, followup_voice, health, openapi, views, voice
from transcription.cli import cli as transcription_cli
from transcription.comments_cli import cli as comments_cli

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with ``config`` overriding (tests)."""
    app = Flask(__name__)
    app.config.update(load_config())
    app.config["MIGRATIONS_DIR"] = str(Path(__file__).resolve().parent.parent / "migrations")
    if config:
        app.config.update(config)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if not app.config["SECRET_KEY"] or not app.config["API_TOKEN"]:
        raise RuntimeError(
            "SECRET_KEY and API_TOKEN must be set when real Twilio credentials are used"
        )
    app.wsgi_app = fast_lane.FastLane(app, app.wsgi_app)  # type: ignore[method-assign]
    if app.config["PROXY_HOPS"]:  # outside the lane: it sees the host the proxy was asked for
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=app.config["PROXY_HOPS"],
            x_proto=app.config["PROXY_HOPS"],
            x_host=app.config["PROXY_HOPS"],
            x_port=app.config["PROXY_HOPS"],
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    app.session_interface = twilio_auth.CookielessWebhooks()
    db.init_app(app)
    redis_client.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(openapi.bp)
    for blueprint in (voice.bp, followup_voice.bp, api.bp):
        app.register_blueprint(blueprint)
        csrf = app.extensions.get("csrf")
        if csrf is not None:  # Twilio and API calls are authenticated by signature or token
            csrf.exempt(blueprint)
    callbacks.init_app(app)
    themes.init_app(app)
    dashboard.init_app(app)
    texts.init_app(app)
    cli.init_app(app)
    app.cli.add_command(transcription_cli)
    app.cli.add_command(comments_cli)
    # `make run` says LOCAL MODE once itself and sets this for the processes it starts.
    if app.config["LOCAL_MODE"] and not os.environ.get("LOCAL_MODE_ANNOUNCED"):
        log.warning(
            "LOCAL MODE: no Twilio credentials; talking to the fake Twilio at %s",
            app.config["TWILIO_API_BASE_URL"],
        )
    return app
