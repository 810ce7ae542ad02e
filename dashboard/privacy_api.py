"""Bearer API for privacy requests that arrive through another system (CRM, help desk):
the do-not-call list and "delete this caller's data", by the same functions as the pages.

``POST /api/dnc`` {"number": …} (201, idempotent), ``DELETE /api/dnc/<number>`` (204/404),
``DELETE /api/contacts/<number>`` (200 with what was erased). Audited with no user (the
API token names no person) and source "api"; never the number.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from core import contacts
from core.api import error, invalid, query_args, read_body, token_required
from core.payload import Field, Invalid, Shape
from dashboard import dnc, erasure

bp = Blueprint("privacy_api", __name__, url_prefix="/api")

NUMBER = Shape(
    (
        Field(
            "number",
            "string",
            "the number, E.164 (a US number without +1 is read as US)",
            required=True,
            max_length=32,
            example="+15551234567",
        ),
    ),
    example={"number": "+15551234567"},
)


def unreadable(exc: contacts.InvalidNumber) -> tuple[Response, int]:
    return error("invalid_number", str(exc), 400)


@bp.post("/dnc")
@token_required
@query_args()
def dnc_add() -> Any:
    try:
        body = read_body(NUMBER)
    except Invalid as exc:
        return invalid(exc)
    raw = body.text("number")
    assert raw is not None  # required by the shape
    try:
        number, added = dnc.add_number(raw, "api", None)
    except contacts.InvalidNumber as exc:
        return unreadable(exc)
    # 201 on a repeat too: the caller's wish (the number is listed) holds either way.
    return jsonify({"number": number, "on_list": True, "added": added}), 201


@bp.delete("/dnc/<number>")
@token_required
@query_args()
def dnc_remove(number: str) -> Any:
    try:
        e164, removed = dnc.remove_number(number, "api", None)
    except contacts.InvalidNumber as exc:
        return unreadable(exc)
    if not removed:
        return error("not_found", f"{e164} is not on the do-not-call list", 404)
    return Response(status=204)


@bp.delete("/contacts/<number>")
@token_required
@query_args()
def contact_erase(number: str) -> Any:
    """Erase a caller exactly as the dashboard's "delete this caller's data" does."""
    try:
        report = erasure.erase_caller(number, None)
    except contacts.InvalidNumber as exc:
        return unreadable(exc)
    return jsonify(
        {
            "found": report.found_anything,
            "sessions": report.sessions,
            "recordings": report.recordings,
            "twilio_deleted": report.twilio_deleted,
            "twilio_pending": report.twilio_pending,
            "suppressions_kept": report.kept,
            "message": report.summary(),
        }
    ), 200


DNC_RESULT = {
    "type": "object",
    "required": ["number", "on_list", "added"],
    "properties": {
        "number": {"type": "string", "description": "the number as E.164"},
        "on_list": {"type": "boolean"},
        "added": {"type": "boolean", "description": "false: it was on the list already"},
    },
}
ERASURE_RESULT = {
    "type": "object",
    "required": [
        "found",
        "sessions",
        "recordings",
        "twilio_deleted",
        "twilio_pending",
        "suppressions_kept",
        "message",
    ],
    "properties": {
        "found": {"type": "boolean", "description": "false: we held nothing for the number"},
        "sessions": {"type": "integer"},
        "recordings": {"type": "integer"},
        "twilio_deleted": {"type": "integer"},
        "twilio_pending": {"type": "integer", "description": "retried by the retention job"},
        "suppressions_kept": {
            "type": "array",
            "items": {"type": "string", "enum": ["do_not_call", "opt_out"]},
            "description": "kept as a keyed hash of the number, never the number",
        },
        "message": {"type": "string"},
    },
}
NUMBER_PARAM = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 32},
    "example": "+15551234567",
}
ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _errors(codes: dict[str, str]) -> dict[str, Any]:
    """Error responses by status code, each with its description and the Error body."""
    return {code: {"description": text, **ERROR} for code, text in codes.items()}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON = {"401": "no valid bearer token", "503": "the database is unreachable; retry"}
# The paths of this module for the OpenAPI description (ivr.openapi), kept beside the code.
OPENAPI_PATHS: dict[str, Any] = {
    "/api/dnc": {
        "post": {
            "summary": "Put a number on the do-not-call list (idempotent)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": NUMBER.schema()}},
            },
            "responses": {
                "201": _json(DNC_RESULT, "the number is on the list"),
                **_errors({"400": "not a phone number, or a malformed body", **COMMON}),
            },
        }
    },
    "/api/dnc/{number}": {
        "delete": {
            "summary": "Take a number off the do-not-call list",
            "parameters": [NUMBER_PARAM],
            "responses": {
                "204": {"description": "removed"},
                **_errors(
                    {"400": "not a phone number", "404": "the number is not on the list", **COMMON}
                ),
            },
        }
    },
    "/api/contacts/{number}": {
        "delete": {
            "summary": "Delete a caller's data, as the dashboard does; opt-outs stay by hash",
            "parameters": [NUMBER_PARAM],
            "responses": {
                "200": _json(ERASURE_RESULT, "what was erased"),
                **_errors({"400": "not a phone number", **COMMON}),
            },
        }
    },
}
