"""JSON API for CRMs and integrations (bearer API_TOKEN)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from core.api import error, invalid, query_args, read_body, token_required
from core.payload import SURVEY_SLUG, Field, Invalid, Shape
from core.survey_requests import SurveyRequest
from ivr import outbound

bp = Blueprint("api", __name__, url_prefix="/api")

SURVEY_CALL = Shape(
    (
        Field(
            "to",
            "string",
            "the number to ring, E.164 (a US number without +1 is read as US)",
            required=True,
            max_length=32,
            example="+15551234567",
        ),
        SURVEY_SLUG,
        Field(
            "texts_consent",
            "boolean",
            "true: the customer has agreed to be texted (kept with its source and time, once "
            "the call is accepted); false or left out: nothing changes",
            nullable=True,
        ),
        Field(
            "texts_consent_source",
            "string",
            "where that agreement was given, e.g. crm or web_form (default api)",
            nullable=True,
            max_length=32,  # text_consents.source
            example="crm",
        ),
    ),
    example={"to": "+15551234567", "survey": "post-call"},
)

SURVEY_CALL_RESULT = {
    "type": "object",
    "required": ["call_sid", "session_id", "status", "to"],
    "properties": {
        "call_sid": {"type": "string", "pattern": "^CA[0-9a-fA-F]{32}$"},
        "session_id": {"type": "integer"},
        "status": {"type": "string"},
        "to": {"type": "string"},
    },
}

SURVEY_CALL_SCHEDULED = {
    "type": "object",
    "required": ["scheduled_for", "request_id", "status", "to"],
    "properties": {
        "scheduled_for": {
            "type": "string",
            "format": "date-time",
            "description": "when the callee's calling hours open (UTC); the call is placed then",
        },
        "request_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["scheduled"]},
        "to": {"type": "string"},
    },
}


@bp.post("/surveys/calls")
@token_required
@query_args()
def create_survey_call() -> Any:
    try:
        body = read_body(SURVEY_CALL)
    except Invalid as exc:
        return invalid(exc)
    to = body.text("to")
    assert to is not None  # required by the shape
    try:
        session = outbound.request_survey_call(
            to,
            body.text("survey"),
            texts_consent=(body.text("texts_consent_source") or "api")
            if body.flag("texts_consent")
            else None,
        )
    except outbound.CallRefused as exc:
        return error(exc.code, str(exc), exc.status)
    if isinstance(session, SurveyRequest):  # outside the callee's calling hours: not now
        return jsonify(
            {
                "scheduled_for": session.scheduled_for.isoformat(),
                "request_id": session.id,
                "status": session.status.value,
                "to": session.to_number,
            }
        ), 202
    return jsonify(
        {
            "call_sid": session.call_sid,
            "session_id": session.id,
            "status": session.status.value,
            "to": session.to_number,
        }
    ), 201
