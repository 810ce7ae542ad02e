"""Every promise made to the caller on a task's calls, newest first, with when it was said,
what they heard and whether it was kept: on the agent's task page and in the API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from flask import Flask

from callbacks import api, console
from callbacks.models import CallbackTask
from core.models import User
from tests.callbacks.conftest import AUTH
from tests.callbacks.test_promise import la, promised_call
from tests.callbacks.test_promise_shown import judged, promised_twice, reached, task_page


def missed_then_told_again() -> CallbackTask:
    """At 10 AM "by 11 AM today"; nobody calls; at 11:30, calling again, the caller is told
    "tomorrow between 8 AM and 9 AM". One task."""
    _, first = judged(promised_call(la(10), la(10, 2))[1], la(10, 3))
    _, task = judged(promised_call(la(11, 30), la(11, 32), preference="tomorrow")[1], la(11, 33))
    assert task.id == first.id
    return task


OPEN = "Open: nobody reached yet, and its time is still to come"
NOT_REACHED = "Missed: not reached by then"
TOMORROW = "tomorrow between 8 AM and 9 AM"
# missed_then_told_again() read at 11:40, newest first: (said at, heard, kept?).
MISSED_THEN_OPEN = [
    ["11:30 AM today", TOMORROW, OPEN],
    ["10 AM today", "by 11 AM today", NOT_REACHED],
]


def promise_rows(page: str) -> list[list[str]]:
    """The promises table as a person reads it, row by row."""
    table = page.split('id="promises">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr class=\"promise-\w+\">(.*?)</tr>", table, re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in rows
    ]


def rows_at(
    client: Any, agent: User, task: CallbackTask, now: datetime, monkeypatch: Any
) -> list[list[str]]:
    """The task page's promises, read by ``agent`` at ``now``."""
    monkeypatch.setattr(console, "utcnow", lambda: now)
    return promise_rows(task_page(client, agent, task))


def test_the_task_page_lists_a_missed_promise_under_the_one_in_force(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 11:40: tomorrow's window, said last, is open; "by 11 AM", said first, was missed."""
    task = missed_then_told_again()
    assert rows_at(client, agent, task, la(11, 40), monkeypatch) == MISSED_THEN_OPEN


def test_a_promise_replaced_before_its_time_is_listed_as_replaced(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tomorrow's window (10 AM), then "by 12 PM today" (11 AM), nobody reached by 12:10: the
    noon promise was missed; the first was replaced by it, not missed."""
    replaced = "Replaced by a later promise before its time"
    assert rows_at(client, agent, promised_twice(), la(12, 10), monkeypatch) == [
        ["11 AM today", "by 12 PM today", NOT_REACHED],
        ["10 AM today", TOMORROW, replaced],
    ]


def test_promises_kept_say_when_the_caller_was_reached(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reached at 11:40 AM: both promises were kept by that call; read the next day, the
    days are named by date."""
    task = promised_twice()
    reached(task, la(11, 40), outcome="resolved")
    day = "on Mon 2 Jun"
    assert rows_at(client, agent, task, la(9, day=3), monkeypatch) == [
        [f"11 AM {day}", f"by 12 PM {day}", "Kept: reached at 11:40 AM"],
        [f"10 AM {day}", "today between 8 AM and 9 AM", f"Kept: reached at 11:40 AM {day}"],
    ]


def test_a_task_with_no_promise_lists_none(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A low score: nobody was told when to expect a call, so no promises table."""
    from tests.callbacks.conftest import make_task

    monkeypatch.setattr(console, "utcnow", lambda: la(12))
    assert "Promises to the caller" not in task_page(client, agent, make_task())


def test_the_api_lists_every_promise_newest_first(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON carries each promise: when said, what was heard, by when, and its status."""
    task = missed_then_told_again()
    monkeypatch.setattr(api, "utcnow", lambda: la(11, 40))
    body = client.get(f"/api/callbacks/{task.id}", headers=AUTH).get_json()
    assert [(p["promised_at"], p["said"], p["status"], p["verdict"]) for p in body["promises"]] == [
        (
            la(11, 30).isoformat(),
            "tomorrow between 8 AM and 9 AM",
            "open",
            "Open: nobody reached yet, and its time is still to come",
        ),
        (la(10).isoformat(), "by 11 AM today", "missed", "Missed: not reached by then"),
    ]
    assert body["promises"][1]["by"] == la(11).isoformat()
    assert all(p["confirmed"] for p in body["promises"])
