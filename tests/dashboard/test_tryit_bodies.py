"""The try-it page's JSON endpoints with a body that is not a JSON object: the page's 400
error, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.dashboard.test_tryit import Driver
from tests.texts.test_tryit_text import TextDriver

# Deeper than Python's JSON parser recurses: it raises RecursionError, not ValueError.
TOO_DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("body", [TOO_DEEP, "[1]", '"press"', "7"])
def test_try_it_respond_with_a_body_not_an_object_is_a_400(
    app: Flask, signed_in: Any, body: str
) -> None:
    """The try-it call's turn answers a body that is no JSON object with its 400 error."""
    driver = Driver(signed_in)
    driver.start()
    response = signed_in.post(
        f"/dashboard/try/{driver.call_id}/respond",
        data=body,
        headers={**driver.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]


@pytest.mark.parametrize("body", [TOO_DEEP, "[1]", '"nine"', "7"])
def test_try_text_reply_with_a_body_not_an_object_is_a_400(
    app: Flask, signed_in: Any, body: str
) -> None:
    """The text mode's reply answers a body that is no JSON object with its 400 error."""
    driver = TextDriver(signed_in)
    driver.start()
    response = signed_in.post(
        f"/dashboard/try/text/{driver.session_id}/reply",
        data=body,
        headers={**driver.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]
