"""Bearer-token JSON API helpers shared by every domain's endpoints."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, current_app, jsonify, request

from core.payload import Invalid, Shape, Values

F = TypeVar("F", bound=Callable[..., Any])


def error(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message}), status


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_matches(given: str, expected: str) -> bool:
    """Constant-time compare; hashing first hides the expected token's length as well."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def token_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        expected = current_app.config["API_TOKEN"]
        given = bearer_token()
        if not expected or given is None or not token_matches(given, expected):
            response, status = error(
                "unauthorized",
                "a valid 'Authorization: Bearer <API_TOKEN>' header is required",
                401,
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response, status
        return view(*args, **kwargs)

    return cast(F, wrapper)


def query_args(*allowed: str) -> Callable[[F], F]:
    """Refuse query parameters the endpoint does not take (a typo is a 400, not ignored)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            unknown = sorted(set(request.args) - set(allowed))
            if unknown:
                takes = f"; it takes {', '.join(allowed)}" if allowed else ""
                return error("bad_request", f"unknown query parameter {unknown[0]!r}{takes}", 400)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def json_body() -> Any:
    """The request's body parsed as JSON; None when it is not JSON.

    A body nested deeper than the parser recurses raises RecursionError, not the ValueError
    that ``get_json(silent=True)`` swallows, so it is caught here rather than answered 500.
    """
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def read_body(shape: Shape) -> Values:
    """The request's JSON body checked against ``shape``; an empty body is ``{}``.

    Raises:
        Invalid: the body is not JSON, or does not match the shape.
    """
    if not request.get_data():
        return shape.parse({})
    body = json_body()
    if body is None:
        raise Invalid("the body must be JSON (Content-Type: application/json)")
    return shape.parse(body)


def invalid(exc: Invalid) -> tuple[Response, int]:
    return error("bad_request", str(exc), 400)
