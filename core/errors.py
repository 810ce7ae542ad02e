"""App-wide error answers: a database outage is a short 503 that Twilio and clients retry,
and every error under /api/ is JSON ``{"error": code, "message": ...}``."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from core.db import db

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The database is unreachable right now; retry shortly."


def is_api() -> bool:
    return request.path.startswith("/api/")


def database_unavailable(exc: SQLAlchemyError) -> Response:
    """503 with a one-line body: Twilio retries it (or plays the fallback), never a traceback.

    Only connection-level failures land here; a query PostgreSQL refuses is a bug and stays
    a 500 so that tests see it.
    """
    log.error("database unavailable for %s %s: %s", request.method, request.path, exc)
    with contextlib.suppress(SQLAlchemyError):  # the connection is gone; nothing to undo
        db.session.rollback()
    if is_api():
        response = jsonify(error="unavailable", message=UNAVAILABLE)
    else:
        response = Response(UNAVAILABLE + "\n", mimetype="text/plain")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def http_error(exc: HTTPException) -> HTTPException | Response:
    """JSON for API clients (404 for an unknown path, 405, 415...); pages keep Flask's own."""
    if not is_api() or exc.code is None:
        return exc
    response = jsonify(
        error=exc.name.lower().replace(" ", "_"), message=exc.description or exc.name
    )
    response.status_code = exc.code
    for name, value in exc.get_headers():  # keeps Allow on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)
    app.register_error_handler(HTTPException, http_error)
