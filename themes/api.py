"""``GET /api/themes?days=N`` (bearer API_TOKEN): what callers talk about, largest first."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import true

from core.api import error, query_args, token_required
from core.db import utcnow
from themes import report

bp = Blueprint("themes_api", __name__, url_prefix="/api")

DEFAULT_DAYS = 30
MAX_DAYS = 365

THEME_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "count", "rising", "examples"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "count": {"type": "integer", "description": "comments in the period"},
        "rising": {
            "type": "boolean",
            "description": "this week far above the previous 4 weeks (Poisson p < 0.01)",
        },
        "examples": {
            "type": "array",
            "maxItems": report.QUOTES,
            "items": {
                "type": "object",
                "required": ["session_id", "text"],
                "properties": {"session_id": {"type": "integer"}, "text": {"type": "string"}},
            },
        },
    },
}

OPENAPI_PATHS = {
    "/api/themes": {
        "get": {
            "summary": "What callers' comments are about: themes, largest first",
            "parameters": [
                {
                    "name": "days",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_DAYS,
                        "default": DEFAULT_DAYS,
                    },
                    "description": "count comments of the last N days",
                }
            ],
            "responses": {
                "200": {
                    "description": "the themes with comments in the period",
                    "content": {
                        "application/json": {"schema": {"type": "array", "items": THEME_SCHEMA}}
                    },
                },
                "400": {
                    "description": "days is not a whole number from 1 to 365",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "401": {
                    "description": "no valid `Authorization: Bearer <API_TOKEN>` header",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
    }
}


def days_arg(raw: str | None) -> int | None:
    """The ``days`` query value, or None when it is not a whole number in 1..365."""
    if raw is None:
        return DEFAULT_DAYS
    text = raw.strip()
    if not text.isdigit() or len(text) > 3:
        return None
    days = int(text)
    return days if 1 <= days <= MAX_DAYS else None


@bp.get("/themes")
@token_required
@query_args("days")
def themes() -> Any:
    days = days_arg(request.args.get("days"))
    if days is None:
        return error("bad_request", f"days must be a whole number from 1 to {MAX_DAYS}", 400)
    found = report.build(true(), days, utcnow())
    return jsonify(
        [
            {
                "id": row.id,
                "name": row.name,
                "count": row.count,
                "rising": row.rising,
                "examples": [{"session_id": q.session_id, "text": q.text} for q in row.quotes],
            }
            for row in found.rows
        ]
    )
