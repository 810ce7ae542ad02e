"""The manager's view of a callback: every promise on the task, newest first, and a call whose
outcome the agent never recorded (until they do)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from callbacks import actions, links
from callbacks.sweep import sweep
from core.models import User
from tests.callbacks.conftest import make_agent
from tests.callbacks.test_outcome_missing import GRACE, left_unrecorded
from tests.callbacks.test_promise import la
from tests.callbacks.test_promises_listed import (
    MISSED_THEN_OPEN,
    missed_then_told_again,
    promise_rows,
)


@pytest.fixture
def any_time(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calling hours all day, so the agent's call can be placed whatever the clock says."""
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-24:00")


def page_at(client: Any, url: str, now: datetime, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(links, "utcnow", lambda: now)
    page: str = client.get(url).get_data(as_text=True)
    return page


def test_the_call_page_lists_every_promise_on_its_callback(
    app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call's page: its own promise was missed, and the promise made on the later
    call, still open, is listed above it."""
    task = missed_then_told_again()
    page = page_at(signed_in, f"/dashboard/calls/{task.session_id}", la(11, 40), monkeypatch)
    assert "Promises on this callback" in page
    assert promise_rows(page) == MISSED_THEN_OPEN


def test_the_call_page_and_the_flagged_list_say_the_outcome_is_missing_until_recorded(
    app: Flask, signed_in: Any, any_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the grace period the manager reads that nobody knows whether the caller was
    reached, and that supervisors were told; the agent's outcome clears both."""
    agent: User = make_agent("ann@example.com")
    task, ended = left_unrecorded(agent)
    sweep(ended + GRACE + timedelta(minutes=1))
    later = ended + GRACE + timedelta(minutes=15)
    call_page = f"/dashboard/calls/{task.session_id}"
    page = page_at(signed_in, call_page, later, monkeypatch)
    assert "Outcome not recorded: the call ended 45 min ago" in page
    assert "nobody has said whether the caller was reached. Supervisors have been told." in page
    assert "outcome missing" in page_at(signed_in, "/dashboard/", later, monkeypatch)
    actions.record_outcome(task.id, agent, "resolved")
    assert "Outcome not recorded" not in page_at(signed_in, call_page, later, monkeypatch)
    assert "outcome missing" not in page_at(signed_in, "/dashboard/", later, monkeypatch)


def test_within_the_grace_period_nothing_is_said_missing(
    app: Flask, signed_in: Any, any_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five minutes after the call, the agent is presumably still writing it up."""
    task, ended = left_unrecorded(make_agent("ann@example.com"))
    now = ended + timedelta(minutes=5)
    page = page_at(signed_in, f"/dashboard/calls/{task.session_id}", now, monkeypatch)
    assert "Outcome not recorded" not in page
