"""Bearer-token JSON API helpers shared by every domain's endpoints."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, current_app, jsonify, request

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
