"""The agent console as an agent sees it: queue, claim, the task page and an outcome."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from flask import Flask, url_for

from callbacks.models import TaskState
from core.models import User
from tests.callbacks.conftest import CUSTOMER, claimed_task, make_agent, make_task, reload_task
from tests.factories import csrf_token, login

WORRIED = "I'm really worried, the payment bounced and I'll lose my flat. Please call me."


def test_agent_lands_on_the_queue_after_sign_in(app: Flask, client: Any, agent: User) -> None:
    """Signing in as an agent opens the callback queue."""
    login(client, agent)
    response = client.get("/", follow_redirects=True)
    assert "Callback queue" in response.get_data(as_text=True)


def test_queue_lists_tasks_with_countdowns(app: Flask, client: Any, agent: User) -> None:
    """The queue shows the number, reasons and a live countdown to the deadline."""
    task = make_task(nps=2)
    login(client, agent)
    page = client.get("/callbacks/").get_data(as_text=True)
    assert CUSTOMER in page and "low nps" in page
    assert f'data-due="{task.due_at.isoformat()}"' in page
    assert "console.js" in page


def test_claim_from_the_queue_opens_the_task(app: Flask, client: Any, agent: User) -> None:
    """Claiming takes the agent to the task page, now held by them."""
    task = make_task()
    login(client, agent)
    token = csrf_token(client, "/callbacks/")
    response = client.post(
        f"/callbacks/{task.id}/claim", data={"csrf_token": token}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert f"You claimed task {task.id}" in page and "Call now" in page
    assert reload_task(task.id).claimed_by_id == agent.id


def test_second_agent_is_told_the_task_is_taken(app: Flask, agent: User) -> None:
    """Two agents clicking Claim at once: one gets the task, the other a 409 naming the holder."""
    task = make_task()
    people = [SimpleNamespace(email=u.email) for u in (agent, make_agent("bea@example.com"))]
    task_id = task.id
    barrier = threading.Barrier(2)
    pages: dict[str, tuple[int, str]] = {}

    def click(person: Any) -> None:  # own thread: own app context per request
        browser = app.test_client()
        login(browser, person)
        token = csrf_token(browser, "/callbacks/")
        barrier.wait()
        response = browser.post(f"/callbacks/{task_id}/claim", data={"csrf_token": token})
        pages[person.email] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=click, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in pages.values()) == [302, 409]
    holder = reload_task(task.id).claimed_by
    assert holder is not None
    loser = next(page for code, page in pages.values() if code == 409)
    assert f"already taken by {holder.email}" in loser


def test_task_page_shows_what_the_caller_said(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """Scores, the transcript with flagged phrases marked, and the apology script."""
    task = make_task(nps=2, csat=1, comment=WORRIED, preference="later_today")
    login(client, agent)
    page = client.get(f"/callbacks/{task.id}").get_data(as_text=True)
    assert "NPS 2" in page and "CSAT 1" in page
    assert '<mark class="distress" title="distress">worried</mark>' in page
    assert "later today" in page
    for step in ("Take responsibility", "Express regret", "Repair", "Explain", "Promise"):
        assert step in page
    assert "you scored us 2 out of 10" in page
    # The caller's sentence around the cue, not the cue word alone.
    said = "I&#39;m really worried, the payment bounced and I&#39;ll lose my flat"
    assert f"You told us “{said}”" in page


def test_outcome_form_closes_the_task(app: Flask, client: Any, agent: User) -> None:
    """The holder picks "Wrong number": the task closes with the note kept."""
    task, token = claimed_task(client, agent)
    response = client.post(
        f"/callbacks/{task.id}/outcome",
        data={"csrf_token": token, "outcome": "wrong_number", "notes": "Not their number."},
        follow_redirects=True,
    )
    assert "Outcome recorded: Wrong number." in response.get_data(as_text=True)
    task = reload_task(task.id)
    assert task.state is TaskState.CLOSED and task.notes == "Not their number."


def test_console_requires_sign_in(app: Flask, client: Any) -> None:
    """Anonymous visitors are sent to the sign-in page."""
    response = client.get("/callbacks/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_forms_need_the_csrf_token(app: Flask, client: Any, agent: User) -> None:
    """A claim posted without the CSRF token is rejected and changes nothing."""
    task = make_task()
    login(client, agent)
    assert client.post(f"/callbacks/{task.id}/claim").status_code == 400
    assert reload_task(task.id).state is TaskState.OPEN


def test_call_now_tells_the_agent_their_phone_will_ring(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """Clicking "Call now" says which phone rings first and shows the task as dialing."""
    task, token = claimed_task(client, agent)
    response = client.post(
        f"/callbacks/{task.id}/call", data={"csrf_token": token}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert f"Calling your phone ({agent.phone}) now" in page
    assert '<span id="state">dialing</span>' in page


def test_escalated_task_is_flagged_in_the_queue(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """After a missed deadline the queue marks the task escalated."""
    from datetime import timedelta

    from callbacks import escalation

    task = make_task()
    escalation.escalate_if_due(task.id, now=task.due_at + timedelta(seconds=1))
    login(client, agent)
    page = client.get("/callbacks/").get_data(as_text=True)
    assert '<span class="badge urgent">escalated</span>' in page


def test_task_page_plays_the_recording_through_the_dashboard_route(
    app: Flask, client: Any, agent: User, tmp_path: Any
) -> None:
    """With the dashboard's audio route present, the comment has a player."""
    from core.db import db

    task = make_task(comment="The agent was rude and I'm upset.")
    rec = task.session.recordings[0]
    audio = tmp_path / "c.wav"
    audio.write_bytes(b"RIFF")
    rec.local_path = str(audio)
    db.session.commit()
    login(client, agent)
    page = client.get(f"/callbacks/{task.id}").get_data(as_text=True)
    if "dashboard.recording_audio" in app.view_functions:
        with app.test_request_context():
            player = url_for("dashboard.recording_audio", recording_id=rec.id)
        assert f'<audio controls preload="none" src="{player}">' in page
    else:
        assert "<audio" not in page


def test_queue_feed_gives_the_page_what_it_compares(app: Flask, client: Any, agent: User) -> None:
    """The refresh feed lists each task's id, state, priority and page link."""
    task = make_task()
    login(client, agent)
    feed = client.get("/callbacks/queue.json").get_json()
    [item] = feed["callbacks"]
    assert (item["id"], item["state"], item["priority"]) == (task.id, "open", task.priority)
    assert item["url"] == f"/callbacks/{task.id}"
    page = client.get("/callbacks/").get_data(as_text=True)
    assert f'data-task="{task.id}" data-state="open" data-priority="{task.priority}"' in page
