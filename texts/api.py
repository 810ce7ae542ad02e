"""Bearer API for texts: a text survey to a number that gave permission, and that permission.

``POST /api/surveys/texts`` {"to", "survey"}: 201 with the session when the first question
went out, 202 with ``scheduled_for`` outside the callee's hours, 409 with the reason when
the number gave no permission, opted out (STOP counts) or is on the do-not-call list, or
was surveyed recently. ``PUT /api/contacts/<number>/texts-consent`` {"consent", "source"}
records or withdraws the customer's permission (the contact's record in a CRM).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from core import consents, contacts
from core.api import error, invalid, query_args, read_body, token_required
from core.db import db
from core.nul import refuse_nul_json
from core.payload import SURVEY_SLUG, Field, Invalid, Shape
from core.survey_requests import SurveyRequest
from texts import survey

bp = Blueprint("texts_api", __name__, url_prefix="/api")
bp.before_request(refuse_nul_json)

SURVEY_TEXT = Shape(
    (
        Field(
            "to",
            "string",
            "the number to text, E.164 (a US number without +1 is read as US); it must have "
            "given permission to be texted",
            required=True,
            max_length=32,
            example="+15551234567",
        ),
        SURVEY_SLUG,
    ),
    example={"to": "+15551234567", "survey": "post-call"},
)
CONSENT = Shape(
    (
        Field("consent", "boolean", "true: may be texted; false: withdrawn", required=True),
        Field(
            "source",
            "string",
            "where the customer said so, e.g. crm (default api)",
            nullable=True,
            max_length=32,
            example="crm",
        ),
    ),
    example={"consent": True, "source": "crm"},
)


def unreadable(exc: contacts.InvalidNumber) -> tuple[Response, int]:
    return error("invalid_number", str(exc), 400)


@bp.post("/surveys/texts")
@token_required
@query_args()
def create_survey_text() -> Any:
    try:
        body = read_body(SURVEY_TEXT)
    except Invalid as exc:
        return invalid(exc)
    to = body.text("to")
    assert to is not None  # required by the shape
    try:
        started = survey.start_text_survey(to, body.text("survey"))
    except survey.TextRefused as exc:
        return error(exc.code, str(exc), exc.status)
    if isinstance(started, SurveyRequest):  # outside the callee's hours: at the opening
        return jsonify(
            {
                "scheduled_for": started.scheduled_for.isoformat(),
                "request_id": started.id,
                "status": started.status.value,
                "to": started.to_number,
            }
        ), 202
    return jsonify(
        {"session_id": started.id, "status": "sent", "to": started.to_number, "channel": "sms"}
    ), 201


@bp.put("/contacts/<number>/texts-consent")
@token_required
@query_args()
def put_consent(number: str) -> Any:
    try:
        body = read_body(CONSENT)
        e164 = contacts.to_e164(number)
    except Invalid as exc:
        return invalid(exc)
    except contacts.InvalidNumber as exc:
        return unreadable(exc)
    source = body.text("source") or "api"
    contact = contacts.get_or_create(e164)
    if body.flag("consent"):
        consents.grant(contact, source)
    else:
        consents.withdraw(contact, source)
    db.session.commit()
    standing = consents.current(contact)
    return jsonify(
        {
            "to": e164,
            "texts_consent": standing is not None,
            "granted_at": standing.granted_at.isoformat() if standing else None,
            "source": standing.source if standing else None,
        }
    ), 200


_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 32},
    "example": "+15551234567",
}


def _errors(codes: dict[str, str]) -> dict[str, Any]:
    common = {"401": "no valid bearer token", "503": "the database is unreachable; retry"}
    return {code: {"description": text, **_ERROR} for code, text in (codes | common).items()}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(shape: Shape) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": shape.schema()}}}


SENT = {
    "type": "object",
    "required": ["session_id", "status", "to", "channel"],
    "properties": {
        "session_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["sent"]},
        "to": {"type": "string"},
        "channel": {"type": "string", "enum": ["sms"]},
    },
}
SCHEDULED = {
    "type": "object",
    "required": ["scheduled_for", "request_id", "status", "to"],
    "properties": {
        "scheduled_for": {"type": "string", "format": "date-time"},
        "request_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["scheduled"]},
        "to": {"type": "string"},
    },
}
CONSENT_RESULT = {
    "type": "object",
    "required": ["to", "texts_consent", "granted_at", "source"],
    "properties": {
        "to": {"type": "string"},
        "texts_consent": {"type": "boolean"},
        "granted_at": {"type": "string", "format": "date-time", "nullable": True},
        "source": {"type": "string", "nullable": True},
    },
}
# This module's paths for the OpenAPI description (ivr.openapi), kept beside the code.
OPENAPI_PATHS: dict[str, Any] = {
    "/api/surveys/texts": {
        "post": {
            "summary": "Text the survey to a number that gave permission",
            "requestBody": _body(SURVEY_TEXT),
            "responses": {
                "201": _json(SENT, "the first question was texted"),
                "202": _json(SCHEDULED, "outside the callee's hours: texted when they open"),
                **_errors(
                    {
                        "400": "the request is malformed, or not a phone number",
                        "404": "no such survey",
                        "409": "no permission to text, opted out, do-not-call, or surveyed "
                        "recently",
                        "422": "a number we never text: another country, premium-rate, special",
                        "502": "Twilio refused the text",
                    }
                ),
            },
        }
    },
    "/api/contacts/{number}/texts-consent": {
        "put": {
            "summary": "Record or withdraw the customer's permission to be texted",
            "parameters": [_NUMBER],
            "requestBody": _body(CONSENT),
            "responses": {
                "200": _json(CONSENT_RESULT, "the permission as it now stands"),
                **_errors({"400": "the request is malformed, or not a phone number"}),
            },
        }
    },
}
