"""Text with a NUL character, which PostgreSQL cannot store, in the agent console and the
callbacks API: a 400 before any view, never a 500, and nothing changes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from callbacks.models import TaskState
from core.models import User
from tests.callbacks.conftest import AUTH, claimed_task, reload_task


def test_an_outcome_note_with_a_nul_is_a_400_and_the_task_stays_held(
    app: Flask, client: Any, agent: User
) -> None:
    """ "Not\\x00 theirs" as the note: 400 with the reason, and the task is not closed."""
    task, token = claimed_task(client, agent)
    response = client.post(
        f"/callbacks/{task.id}/outcome",
        data={"csrf_token": token, "outcome": "wrong_number", "notes": "Not\x00 theirs"},
    )
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert reload_task(task.id).state is TaskState.CLAIMED


def test_the_api_refuses_a_nul_in_its_own_error_shape(app: Flask, client: Any) -> None:
    """A NUL in a query value gets the API's JSON 400, not a page."""
    response = client.get("/api/callbacks?status=open\x00", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "bad_request",
        "message": "A NUL character cannot be part of a text.",
    }
