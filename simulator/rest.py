"""What every REST resource of the fake shares: Twilio-shaped errors and list pages."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request

from simulator.sids import API_VERSION

ACCOUNT = f"/{API_VERSION}/Accounts/<account_sid>"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")


def twilio_error(status: int, code: int, message: str) -> Response:
    """Build an error response shaped like Twilio's."""
    response = jsonify(
        code=code,
        message=message,
        more_info=f"https://www.twilio.com/docs/errors/{code}",
        status=status,
    )
    response.status_code = status
    return response


def not_found() -> Response:
    """Twilio's 404 for an unknown resource."""
    return twilio_error(404, 20404, f"The requested resource {request.path} was not found")


def created(body: dict[str, Any]) -> Response:
    """201 with the new resource, as Twilio answers a create."""
    response = jsonify(body)
    response.status_code = 201
    return response


def page(key: str, items: list[dict[str, Any]], uri: str) -> Response:
    """A single list page holding every item (``next_page_uri`` is null, so paging stops)."""
    return jsonify(
        {
            key: items,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": max(len(items), 50),
            "start": 0,
            "end": max(len(items) - 1, 0),
            "uri": uri,
        }
    )
