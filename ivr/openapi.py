"""The OpenAPI 3 description of /api/*, served at GET /api/openapi.json.

Built in code from the request shapes the endpoints themselves parse with
(``core.payload.Shape``) and the response schemas kept beside each endpoint, so the
description is the one source; tests/test_fuzz_api.py fuzzes the app against it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from callbacks import api as callbacks_api
from core.payload import Shape
from dashboard import privacy_api
from ivr import api as survey_api
from texts import api as texts_api
from themes import api as themes_api

bp = Blueprint("openapi", __name__)

JSON = "application/json"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code"},
        "message": {"type": "string", "description": "what went wrong, for people"},
    },
}
ERRORS = {
    "400": "the request is malformed; the message names the field",
    "401": "no valid `Authorization: Bearer <API_TOKEN>` header",
    "403": "the agent may not do this to the task",
    "404": "no such task, survey or path",
    "409": "the task's state, or the contact, does not allow it",
    "422": "a number we never dial: another country, premium-rate, toll-free or special",
    "502": "Twilio refused the call (or the text)",
    "503": "the database is unreachable; retry",
}


def reply(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def errors(*codes: str) -> dict[str, Any]:
    return {code: reply({"$ref": "#/components/schemas/Error"}, ERRORS[code]) for code in codes}


def body(shape: Shape) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": shape.schema()}}}


TASK_ID = {
    "name": "task_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "example": 1,
}
TASK = {"$ref": "#/components/schemas/Task"}


def task_action(summary: str, shape: Shape, *extra_errors: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": [TASK_ID],
            "requestBody": body(shape),
            "responses": {
                "200": reply(TASK, "the task after the change"),
                **errors("400", "401", "404", *extra_errors, "503"),
            },
        }
    }


def document() -> dict[str, Any]:
    statuses = list(callbacks_api.STATUS_FILTERS)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Voice survey & callbacks API",
            "version": "1",
            "description": "Outbound survey calls and the callback queue. Every error is "
            '`{"error": code, "message": text}`.',
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/surveys/calls": {
                "post": {
                    "summary": "Ring a number and run the survey when they answer",
                    "requestBody": body(survey_api.SURVEY_CALL),
                    "responses": {
                        "201": reply(survey_api.SURVEY_CALL_RESULT, "the call was placed"),
                        "202": reply(
                            survey_api.SURVEY_CALL_SCHEDULED,
                            "outside the callee's calling hours: placed when they open",
                        ),
                        **errors("400", "401", "404", "409", "422", "502", "503"),
                    },
                }
            },
            "/api/callbacks": {
                "get": {
                    "summary": "The callback queue, most urgent first",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"type": "string", "enum": statuses, "default": "open"},
                            "description": "open (not closed), all, or one state",
                        }
                    ],
                    "responses": {
                        "200": reply(
                            {
                                "type": "object",
                                "required": ["callbacks", "count"],
                                "properties": {
                                    "callbacks": {"type": "array", "items": TASK},
                                    "count": {"type": "integer"},
                                },
                            },
                            "the tasks",
                        ),
                        **errors("400", "401", "503"),
                    },
                }
            },
            "/api/callbacks/{task_id}": {
                "get": {
                    "summary": "One task with its scores, transcript and flags",
                    "parameters": [TASK_ID],
                    "responses": {
                        "200": reply(TASK, "the task"),
                        **errors("401", "404", "503"),
                    },
                }
            },
            "/api/callbacks/{task_id}/claim": task_action(
                "Claim a waiting task for an agent", callbacks_api.AGENT, "409"
            ),
            "/api/callbacks/{task_id}/release": task_action(
                "Hand a claimed task back to the queue", callbacks_api.AGENT, "403", "409"
            ),
            "/api/callbacks/{task_id}/reschedule": task_action(
                "Put the task back for a later time", callbacks_api.RESCHEDULE, "403", "409"
            ),
            "/api/callbacks/{task_id}/outcome": task_action(
                "Record how the call went", callbacks_api.OUTCOME, "403", "409"
            ),
            "/api/callbacks/{task_id}/call": {
                "post": {
                    "summary": "Ring the agent, then bridge the customer (click-to-call)",
                    "parameters": [TASK_ID],
                    "requestBody": body(callbacks_api.AGENT),
                    "responses": {
                        "202": reply(callbacks_api.ATTEMPT_SCHEMA, "the attempt is dialing"),
                        **errors("400", "401", "403", "404", "409", "503"),
                    },
                }
            },
            **privacy_api.OPENAPI_PATHS,
            **texts_api.OPENAPI_PATHS,
            **themes_api.OPENAPI_PATHS,
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA, "Task": callbacks_api.TASK_SCHEMA},
        },
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Any:
    """Public: the description holds no data, and clients need it before they have a token."""
    return jsonify(document())
