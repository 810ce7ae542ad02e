"""The JSON API and the atomic claim: two agents clicking at once, one wins."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import requests
from flask import Flask

from callbacks.models import TaskState
from core.db import utcnow
from tests.callbacks.conftest import AUTH, CUSTOMER, make_agent, make_task, reload_task


def test_list_shows_open_tasks_with_scores_and_reasons(app: Flask, client: Any) -> None:
    """GET /api/callbacks?status=open returns the task with phone, reasons and scores."""
    task = make_task(nps=3, csat=2)
    response = client.get("/api/callbacks?status=open", headers=AUTH)
    assert response.status_code == 200
    [item] = response.get_json()["callbacks"]
    assert item["id"] == task.id and item["phone"] == CUSTOMER and item["state"] == "open"
    assert [r["code"] for r in item["reasons"]] == ["low_nps", "low_csat"]
    assert item["scores"] == {"nps": 3, "csat": 2}
    assert item["due_at"] == task.due_at.isoformat()
    assert item["transcript"] is None


def test_list_is_ordered_by_priority_then_due_time(app: Flask, client: Any) -> None:
    """An urgent task comes before an older normal one."""
    normal = make_task(nps=3, phone="+14155550111")
    urgent = make_task(nps=3, phone="+14155550122", comment="I'm so worried and scared.")
    ids = [t["id"] for t in client.get("/api/callbacks", headers=AUTH).get_json()["callbacks"]]
    assert ids == [urgent.id, normal.id]


def test_api_requires_the_token(app: Flask, client: Any) -> None:
    """Without the bearer token the queue is not shown."""
    assert client.get("/api/callbacks").status_code == 401


def test_unknown_status_filter_is_explained(app: Flask, client: Any) -> None:
    """A typo in ?status= gets a 400 naming the valid values."""
    response = client.get("/api/callbacks?status=opn", headers=AUTH)
    assert response.status_code == 400 and "retry_scheduled" in response.get_json()["message"]


def test_unknown_status_filter_names_each_value_once(app: Flask, client: Any) -> None:
    """The 400 for a bad ?status= lists every valid value once ("open" was listed twice)."""
    message = client.get("/api/callbacks?status=opn", headers=AUTH).get_json()["message"]
    named = message.removeprefix("status must be one of ").split(", ")
    assert named[:2] == ["open", "all"] and len(named) == len(set(named)) > 2


def test_claim_race_has_exactly_one_winner(app: Flask, live_url: str) -> None:
    """Two agents claiming the same tasks at the same instant: one 200, one 409, every time."""
    agents = [make_agent("a1@example.com"), make_agent("a2@example.com")]
    tasks = [make_task(nps=2, phone=f"+1415555013{i}") for i in range(5)]
    for task in tasks:
        barrier = threading.Barrier(2)
        results: list[tuple[int, dict[str, Any]]] = []

        def claim(
            agent_id: int, task_id: int = task.id, gate: Any = barrier, out: Any = results
        ) -> None:
            gate.wait()
            response = requests.post(
                f"{live_url}/api/callbacks/{task_id}/claim",
                json={"agent_id": agent_id},
                headers=AUTH,
                timeout=10,
            )
            out.append((response.status_code, response.json()))

        threads = [threading.Thread(target=claim, args=(a.id,)) for a in agents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(code for code, _ in results) == [200, 409]
        loser = next(body for code, body in results if code == 409)
        assert loser["error"] == "already_claimed" and "already taken by" in loser["message"]
        winner = next(body for code, body in results if code == 200)
        assert reload_task(task.id).claimed_by.email == winner["claimed_by"]


def test_release_puts_the_task_back(app: Flask, client: Any, agent: Any) -> None:
    """A released task is open again and anyone can claim it."""
    task = make_task()
    client.post(f"/api/callbacks/{task.id}/claim", json={"agent_id": agent.id}, headers=AUTH)
    response = client.post(
        f"/api/callbacks/{task.id}/release", json={"agent_id": agent.id}, headers=AUTH
    )
    assert response.status_code == 200 and response.get_json()["state"] == "open"
    assert response.get_json()["claimed_by"] is None


def test_only_the_holder_records_an_outcome(app: Flask, client: Any, agent: Any) -> None:
    """Another agent cannot close a task someone else holds."""
    task = make_task()
    other = make_agent("bob@example.com")
    client.post(f"/api/callbacks/{task.id}/claim", json={"agent_id": agent.id}, headers=AUTH)
    response = client.post(
        f"/api/callbacks/{task.id}/outcome",
        json={"agent_id": other.id, "outcome": "resolved"},
        headers=AUTH,
    )
    assert response.status_code == 403 and response.get_json()["error"] == "not_yours"


def test_resolved_outcome_closes_the_task_with_notes(app: Flask, client: Any, agent: Any) -> None:
    """Recording "resolved" closes the task and keeps the agent's notes."""
    task = make_task()
    client.post(f"/api/callbacks/{task.id}/claim", json={"agent_id": agent.id}, headers=AUTH)
    response = client.post(
        f"/api/callbacks/{task.id}/outcome",
        json={"agent_id": agent.id, "outcome": "resolved", "notes": "Refund issued."},
        headers=AUTH,
    )
    body = response.get_json()
    assert body["state"] == "closed" and body["outcome"] == "resolved"
    assert body["notes"] == "Refund issued." and body["closed_at"] is not None


def test_reschedule_moves_the_task_into_calling_hours(app: Flask, client: Any, agent: Any) -> None:
    """Rescheduling to 03:00 customer time lands at 08:00 with a fresh deadline."""
    task = make_task()
    at = (utcnow() + timedelta(days=2)).astimezone(_zone(task.timezone))
    at = at.replace(hour=3, minute=0, second=0, microsecond=0)
    response = client.post(
        f"/api/callbacks/{task.id}/reschedule",
        json={"agent_id": agent.id, "at": at.isoformat()},
        headers=AUTH,
    )
    assert response.status_code == 200
    task = reload_task(task.id)
    assert task.state is TaskState.RETRY_SCHEDULED
    assert task.scheduled_for.astimezone(_zone(task.timezone)).hour == 8
    assert task.due_at == task.scheduled_for + timedelta(minutes=60)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_listing_takes_the_same_queries_for_two_or_twelve_tasks(
    app: Flask, client: Any, query_counter: list[str]
) -> None:
    """GET /api/callbacks loads scores and transcripts in bulk, not per task."""
    for n in range(2):
        make_task(phone=f"+1415555{2000 + n:04d}", nps=1)
    client.get("/api/callbacks", headers=AUTH)
    query_counter.clear()
    assert len(client.get("/api/callbacks", headers=AUTH).get_json()["callbacks"]) == 2
    few = len(query_counter)
    for n in range(2, 12):
        make_task(phone=f"+1415555{2000 + n:04d}", nps=1)
    query_counter.clear()
    assert len(client.get("/api/callbacks", headers=AUTH).get_json()["callbacks"]) == 12
    assert len(query_counter) == few
