"""JSON API for CRMs and integrations (bearer API_TOKEN)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from core.api import error, token_required
from ivr import outbound

bp = Blueprint("api", __name__, url_prefix="/api")


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
