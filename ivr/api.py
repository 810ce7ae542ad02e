"""JSON API for CRMs and integrations (bearer API_TOKEN)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, current_app, jsonify, request

from ivr import outbound

bp = Blueprint("api", __name__, url_prefix="/api")
F = TypeVar("F", bound=Callable[..., Any])


def error(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message}), status


def token_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        expected = current_app.config["API_TOKEN"]
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return error(
                "unauthorized",
                "a valid 'Authorization: Bearer <API_TOKEN>' header is required",
                401,
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)


@bp.post("/surveys/calls")
@token_required
def create_survey_call() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("to"), str):
        return error(
            "bad_request", 'send JSON like {"to": "+15551234567", "survey": "post-call"}', 400
        )
    try:
        session = outbound.place_survey_call(body["to"], body.get("survey"))
    except outbound.CallRefused as exc:
        return error(exc.code, str(exc), exc.status)
    return jsonify(
        {
            "call_sid": session.call_sid,
            "session_id": session.id,
            "status": session.status.value,
            "to": session.to_number,
        }
    ), 201
