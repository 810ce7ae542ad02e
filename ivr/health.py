"""Liveness for load balancers: the database and Redis both answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text

from core.db import db
from core.redis_client import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    checks = {"database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        get_redis().ping()
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(
        {"status": "ok" if healthy else "unavailable", **checks}
    ), 200 if healthy else 503
