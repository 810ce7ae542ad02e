"""End to end through the caller simulator and the fake Twilio."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from callbacks import evaluation
from callbacks.models import AttemptStatus, CallbackTask, Priority
from core.db import db
from core.models import Recording, RecordingStatus, User
from simulator.actions import Press, RecordAudio
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import AGENT_PHONE, AUTH, CUSTOMER
from tests.conftest import COMPANY_NUMBER, FIXTURES, Worker
from transcription.analysis import analyse_comment

ANXIOUS = "I'm so anxious about this, I can't afford another charge and I can't sleep."


def survey(simulator: CallerSimulator, survey_url: str, status_url: str, actions: list[Any]) -> Any:
    return simulator.call(
        survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url
    ).run(actions)


def open_callbacks(client: Any) -> list[dict[str, Any]]:
    response = client.get("/api/callbacks?status=open", headers=AUTH)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.get_json()["callbacks"]
    return items


def test_low_keypad_score_is_in_the_api_at_hang_up(
    app: Flask, client: Any, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """NPS 2 on the keypad: the task is listed as soon as the call ends, no worker needed."""
    survey(
        simulator,
        survey_url,
        status_url,
        [Press("2#"), Press("3"), Press("2"), Press("2"), Press("2")],
    )
    [item] = open_callbacks(client)
    assert item["phone"] == CUSTOMER and item["state"] == "open"
    assert item["scores"] == {"nps": 2, "csat": 3, "resolved": 0}
    assert {r["code"] for r in item["reasons"]} == {"low_nps", "low_resolved"}


def test_pressing_zero_books_a_high_priority_callback(
    app: Flask, client: Any, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """0 with nobody to transfer to: a high-priority task with the caller's chosen time."""
    survey(simulator, survey_url, status_url, [Press("8#"), Press("0"), Press("1"), Press("2")])
    [item] = open_callbacks(client)
    assert item["priority_label"] == "high" and item["preference"] == "later_today"
    assert {r["code"] for r in item["reasons"]} == {"asked_for_human"}


def test_hanging_up_mid_survey_still_counts_the_low_score(
    app: Flask, client: Any, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """A caller who gave NPS 1 and hung up is called back (evaluated on the status callback)."""
    from simulator.actions import HangUp

    survey(simulator, survey_url, status_url, [Press("1#"), HangUp()])
    [item] = open_callbacks(client)
    assert [r["code"] for r in item["reasons"]] == ["low_nps"]


def test_anxious_comment_makes_the_task_urgent_after_analysis(
    app: Flask, client: Any, simulator: CallerSimulator, survey_url: str, status_url: str
) -> None:
    """The keypad task becomes urgent (10 min SLA) once the comment reads as anxious."""
    survey(
        simulator,
        survey_url,
        status_url,
        [Press("6#"), Press("3"), Press("1"), Press("1"), RecordAudio(tone_wav(1.0)), Press("2")],
    )
    [before] = open_callbacks(client)
    assert before["priority_label"] == "normal" and before["transcript"] is None
    rec = db.session.scalar(db.select(Recording))
    assert rec is not None
    rec.transcript = ANXIOUS
    rec.analysis = analyse_comment(ANXIOUS).to_dict()
    rec.status = RecordingStatus.ANALYSED
    db.session.commit()
    evaluation.evaluate_session(rec.session_id)  # what the recording job does after analysis
    [after] = open_callbacks(client)
    assert after["id"] == before["id"]
    assert after["priority"] == Priority.URGENT and after["transcript"] == ANXIOUS
    assert "distress" in [r["code"] for r in after["reasons"]]
    assert "distress" in after["flags"]


def test_agent_calls_back_through_twilio_and_the_outcome_is_stored(
    app: Flask,
    client: Any,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
    agent: User,
    any_time: None,
) -> None:
    """From survey to resolved: claim, click-to-call bridges both legs, outcome recorded."""
    survey(
        simulator,
        survey_url,
        status_url,
        [Press("3#"), Press("2"), Press("2"), Press("2"), Press("2")],
    )
    [item] = open_callbacks(client)
    task_url = f"/api/callbacks/{item['id']}"
    assert (
        client.post(f"{task_url}/claim", json={"agent_id": agent.id}, headers=AUTH).status_code
        == 200
    )
    assert (
        client.post(f"{task_url}/call", json={"agent_id": agent.id}, headers=AUTH).status_code
        == 202
    )
    worker.run()
    fake_twilio.wait_for_calls()
    legs = [
        c
        for c in fake_twilio.call_list()
        if c.to in (AGENT_PHONE, CUSTOMER) and c.direction != "inbound"
    ]
    agent_leg = next(c for c in legs if c.to == AGENT_PHONE)
    customer_leg = next(c for c in legs if c.parent_call_sid == agent_leg.sid)
    assert customer_leg.to == CUSTOMER and customer_leg.status == "completed"
    response = client.post(
        f"{task_url}/outcome",
        json={"agent_id": agent.id, "outcome": "resolved", "notes": "Sorted the refund."},
        headers=AUTH,
    )
    assert response.get_json()["state"] == "closed"
    db.session.expire_all()
    task = db.session.get(CallbackTask, item["id"])
    assert task is not None and task.outcome == "resolved" and task.attempts_count == 1
    assert task.attempts[0].status is AttemptStatus.COMPLETED
    assert task.attempts[0].outcome == "resolved"
    assert open_callbacks(client) == []


@pytest.mark.slow
def test_anxious_recorded_comment_becomes_urgent_through_whisper(
    app: Flask,
    client: Any,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
) -> None:
    """The real path: the worker transcribes anxious.wav and the task turns urgent."""
    clip = FIXTURES / "audio" / "anxious.wav"
    survey(
        simulator,
        survey_url,
        status_url,
        [Press("6#"), Press("3"), Press("1"), Press("1"), RecordAudio(clip), Press("2")],
    )
    worker.run()
    [item] = open_callbacks(client)
    assert item["priority"] == Priority.URGENT
    assert "distress" in [r["code"] for r in item["reasons"]]
    assert "worried" in (item["transcript"] or "").lower()
