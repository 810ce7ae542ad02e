"""Bearer API bodies that are not JSON an endpoint can read: a clear 400 with a JSON
error, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core.db import db
from core.models import CallSession
from tests.conftest import API_TOKEN

AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
# Deeper than Python's JSON parser recurses: it raises RecursionError, not ValueError.
TOO_DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("path", ["/api/surveys/calls", "/api/surveys/texts", "/api/dnc"])
def test_api_body_nested_too_deep_is_a_400(app: Flask, client: Any, path: str) -> None:
    """A body nested thousands deep gets the API's 400, not a 500; nothing is dialled."""
    response = client.post(path, data=TOO_DEEP, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert "JSON" in response.get_json()["message"]
    assert db.session.scalar(db.select(db.func.count()).select_from(CallSession)) == 0
