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


def turn_url(client: Any, mode: str) -> tuple[str, dict[str, str]]:
    """The URL of the started try-it call's next turn (voice) or reply (text), and headers."""
    if mode == "voice":
        call = Driver(client)
        call.start()
        return f"/dashboard/try/{call.call_id}/respond", call.headers
    text = TextDriver(client)
    text.start()
    return f"/dashboard/try/text/{text.session_id}/reply", text.headers


@pytest.mark.parametrize("mode", ["voice", "text"])
@pytest.mark.parametrize("body", [TOO_DEEP, "[1]", '"press"', "7"])
def test_a_try_it_body_that_is_not_an_object_is_a_400(
    app: Flask, signed_in: Any, mode: str, body: str
) -> None:
    """A turn of the try-it call or its text mode answers such a body with the page's 400."""
    url, headers = turn_url(signed_in, mode)
    response = signed_in.post(
        url, data=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]
