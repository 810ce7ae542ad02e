"""Refusing text with a NUL character before any view: SQLite would store it and PostgreSQL
refuse the statement (a 500). One rule for every blueprint that takes query, form or JSON
text from people (``bp.before_request(refuse_nul)``; ``refuse_nul_json`` on the bearer APIs).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from core.api import error, json_body

MESSAGE = "A NUL character cannot be part of a text."


def has_nul() -> bool:
    """Whether a query, form or top-level JSON value of this request holds a NUL character."""
    body = json_body() if request.is_json else None
    texts: list[Any] = [value for _, values in request.args.lists() for value in values]
    texts += [value for _, values in request.form.lists() for value in values]
    texts += list(body.values()) if isinstance(body, dict) else []
    return any(isinstance(text, str) and "\x00" in text for text in texts)


def refuse_nul() -> tuple[str, int] | None:
    """A plain 400 for pages and forms."""
    return (MESSAGE, 400) if has_nul() else None


def refuse_nul_json() -> tuple[Response, int] | None:
    """The bearer APIs' 400, in their error shape."""
    return error("bad_request", MESSAGE, 400) if has_nul() else None
