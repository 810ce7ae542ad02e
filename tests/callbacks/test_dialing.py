"""Click-to-call through the fake Twilio: agent first, then the customer, honestly counted."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from callbacks import dialing
from callbacks.models import AttemptStatus, CallbackAttempt, CallbackTask, TaskState
from core.db import db, utcnow
from core.models import Contact, User
from simulator.fake_state import Callee, FakeTwilio
from tests.callbacks.conftest import AGENT_PHONE, AUTH, CUSTOMER, make_task, reload_task
from tests.conftest import COMPANY_NUMBER, Worker


def claim(client: Any, task: CallbackTask, agent: User) -> None:
    response = client.post(
        f"/api/callbacks/{task.id}/claim", json={"agent_id": agent.id}, headers=AUTH
    )
    assert response.status_code == 200, response.get_json()


def call_now(client: Any, task: CallbackTask, agent: User) -> Any:
    return client.post(f"/api/callbacks/{task.id}/call", json={"agent_id": agent.id}, headers=AUTH)


def dial(client: Any, task: CallbackTask, agent: User, worker: Worker, fake: FakeTwilio) -> None:
    """Click "Call now", let the worker ask Twilio, and wait for both legs to finish."""
    response = call_now(client, task, agent)
    assert response.status_code == 202, response.get_json()
    worker.run()
    fake.wait_for_calls()
    db.session.expire_all()


def attempts() -> list[CallbackAttempt]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(CallbackAttempt).order_by(CallbackAttempt.id)))


def test_call_now_rings_the_agent_then_bridges_the_customer(
    app: Flask, client: Any, agent: User, worker: Worker, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """Twilio calls the agent's phone, then dials the customer from the company number."""
    task = make_task()
    claim(client, task, agent)
    dial(client, task, agent, worker, fake_twilio)
    legs = fake_twilio.call_list()
    agent_leg = next(c for c in legs if c.parent_call_sid is None)
    customer_leg = next(c for c in legs if c.parent_call_sid == agent_leg.sid)
    assert (agent_leg.to, agent_leg.from_) == (AGENT_PHONE, COMPANY_NUMBER)
    assert (customer_leg.to, customer_leg.from_) == (CUSTOMER, COMPANY_NUMBER)
    assert any("Connecting you to the customer" in h for h in agent_leg.heard)
    [attempt] = attempts()
    assert attempt.status is AttemptStatus.COMPLETED and attempt.counted
    assert attempt.agent_call_sid == agent_leg.sid
    assert attempt.customer_call_sid == customer_leg.sid
    task = reload_task(task.id)
    assert task.state is TaskState.COMPLETED and task.attempts_count == 1
    assert task.first_attempt_at is not None


def test_outcome_after_the_call_is_stored(
    app: Flask, client: Any, agent: User, worker: Worker, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """After the bridged call the agent's "resolved" closes the task and marks the attempt."""
    task = make_task()
    claim(client, task, agent)
    dial(client, task, agent, worker, fake_twilio)
    response = client.post(
        f"/api/callbacks/{task.id}/outcome",
        json={"agent_id": agent.id, "outcome": "resolved", "notes": "Apologised, refunded."},
        headers=AUTH,
    )
    assert response.get_json()["state"] == "closed"
    assert attempts()[0].outcome == "resolved"


def test_unanswered_customer_is_a_real_attempt(
    app: Flask, client: Any, agent: User, worker: Worker, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """The customer's phone rang out: one attempt counted, the task shows no answer."""
    fake_twilio.script_for(CUSTOMER, Callee(answer="no-answer"))
    task = make_task()
    claim(client, task, agent)
    dial(client, task, agent, worker, fake_twilio)
    [attempt] = attempts()
    assert attempt.status is AttemptStatus.NO_ANSWER and attempt.counted
    task = reload_task(task.id)
    assert task.state is TaskState.NO_ANSWER and task.attempts_count == 1


def test_agent_not_answering_is_not_counted(
    app: Flask, client: Any, agent: User, worker: Worker, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """If the agent's own phone is not picked up the customer was never called: no count."""
    fake_twilio.script_for(AGENT_PHONE, Callee(answer="no-answer"))
    task = make_task()
    claim(client, task, agent)
    dial(client, task, agent, worker, fake_twilio)
    [attempt] = attempts()
    assert attempt.status is AttemptStatus.AGENT_UNREACHED and not attempt.counted
    task = reload_task(task.id)
    assert task.state is TaskState.CLAIMED and task.attempts_count == 0
    assert all(c.to != CUSTOMER for c in fake_twilio.call_list())


def test_attempts_are_capped(
    app: Flask, client: Any, agent: User, worker: Worker, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """Three real unanswered attempts close the task; a fourth dial is refused."""
    fake_twilio.script_for(CUSTOMER, Callee(answer="no-answer"))
    task = make_task()
    states = []
    for _ in range(3):
        claim(client, task, agent)
        dial(client, task, agent, worker, fake_twilio)
        response = client.post(
            f"/api/callbacks/{task.id}/outcome",
            json={"agent_id": agent.id, "outcome": "no_answer", "retry_at": utcnow().isoformat()},
            headers=AUTH,
        )
        states.append(response.get_json()["state"])
    assert states == ["retry_scheduled", "retry_scheduled", "closed"]
    task = reload_task(task.id)
    assert task.attempts_count == 3 and len(attempts()) == 3
    assert len([c for c in fake_twilio.call_list() if c.to == CUSTOMER]) == 3


def test_do_not_call_added_after_the_task_blocks_the_dial(
    app: Flask, client: Any, agent: User, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """A number put on do-not-call after the task opened is refused at "Call now"."""
    task = make_task()
    claim(client, task, agent)
    contact = db.session.get(Contact, task.contact_id)
    assert contact is not None
    contact.do_not_call_at = utcnow()
    db.session.commit()
    response = call_now(client, task, agent)
    assert response.status_code == 409 and response.get_json()["error"] == "do_not_call"
    assert attempts() == [] and fake_twilio.call_list() == []


def test_do_not_call_between_click_and_dial_stops_the_call(
    app: Flask, client: Any, agent: User, worker: Worker, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """Do-not-call landing after the click but before Twilio is asked: nothing is dialled."""
    task = make_task()
    claim(client, task, agent)
    assert call_now(client, task, agent).status_code == 202
    contact = db.session.get(Contact, task.contact_id)
    assert contact is not None
    contact.do_not_call_at = utcnow()
    db.session.commit()
    worker.run()
    [attempt] = attempts()
    assert attempt.status is AttemptStatus.NOT_PLACED and "do-not-call" in (attempt.error or "")
    assert fake_twilio.call_list() == []
    assert reload_task(task.id).state is TaskState.CLAIMED


def test_outside_calling_hours_the_dial_is_refused(
    app: Flask, client: Any, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no hour allowed, "Call now" explains the customer's local time instead."""
    # A pinned 10:00 in San Francisco: on the real clock, at 00:00 there the window was open.
    clicked = datetime(2025, 6, 2, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    task = make_task(now=clicked)
    claim(client, task, agent)
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-00:01")
    monkeypatch.setattr(dialing, "utcnow", lambda: clicked.astimezone(UTC))
    response = call_now(client, task, agent)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "outside_calling_hours"
    assert "It is 10:00 for the callee (America/Los_Angeles)" in body["message"]


@pytest.fixture
def black_hole() -> Iterator[tuple[str, list[socket.socket]]]:
    """A TCP server that accepts and never answers: calls.create times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
    server.close()
    for conn in accepted:
        conn.close()


def test_calls_create_timeout_never_dials_twice(
    app: Flask,
    client: Any,
    agent: User,
    worker: Worker,
    any_time: None,
    monkeypatch: pytest.MonkeyPatch,
    black_hole: tuple[str, list[socket.socket]],
) -> None:
    """A timed-out calls.create stays dialing; a second click and a job rerun dial nothing."""
    url, accepted = black_hole
    monkeypatch.setitem(app.config, "TWILIO_API_BASE_URL", url)
    monkeypatch.setitem(app.config, "TWILIO_HTTP_TIMEOUT", 0.3)
    task = make_task()
    claim(client, task, agent)
    assert call_now(client, task, agent).status_code == 202
    worker.run()
    [attempt] = attempts()
    assert attempt.status is AttemptStatus.DIALING and "did not answer" in (attempt.error or "")
    again = call_now(client, task, agent)
    assert again.status_code == 409 and again.get_json()["error"] == "already_dialing"
    assert dialing.place_call_now(attempt.id) == "already_started"
    assert len(accepted) == 1 and len(attempts()) == 1


def test_stuck_dial_is_settled_by_the_sweep(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """With no word from Twilio for ten minutes the attempt becomes unknown, uncounted."""
    from callbacks.sweep import sweep

    task = make_task()
    claim(client, task, agent)
    task = reload_task(task.id)
    attempt = CallbackAttempt(
        task_id=task.id, agent_id=agent.id, to_number=task.phone, agent_number=AGENT_PHONE
    )
    db.session.add(attempt)
    task.state = TaskState.DIALING
    db.session.commit()
    counts = sweep(utcnow() + timedelta(minutes=11))
    assert counts["settled"] == 1
    db.session.expire_all()
    assert attempts()[0].status is AttemptStatus.UNKNOWN and not attempts()[0].counted
    assert reload_task(task.id).state is TaskState.CLAIMED


def test_duplicated_and_reordered_callbacks_count_one_attempt(
    app: Flask,
    client: Any,
    agent: User,
    worker: Worker,
    fake_twilio: FakeTwilio,
    any_time: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twilio sending every status twice and out of order still gives one completed attempt."""
    monkeypatch.setattr(fake_twilio, "duplicate_callbacks", True)
    monkeypatch.setattr(fake_twilio, "reorder_callbacks", True)
    task = make_task()
    claim(client, task, agent)
    dial(client, task, agent, worker, fake_twilio)
    [attempt] = attempts()
    assert attempt.status is AttemptStatus.COMPLETED and attempt.counted
    task = reload_task(task.id)
    assert task.attempts_count == 1 and task.state is TaskState.COMPLETED


def test_consented_callback_is_dialled_despite_the_opt_out(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """Opted out of surveys but asked for this call in the same survey: the dial goes ahead."""
    task = make_task(nps=None, opted_out=True, wants_callback=True)
    contact = db.session.get(Contact, task.contact_id)
    assert contact is not None
    contact.opted_out_at = utcnow() - timedelta(seconds=5)  # pressed 9 earlier in that call
    db.session.commit()
    claim(client, task, agent)
    assert call_now(client, task, agent).status_code == 202


def test_opt_out_from_a_later_call_blocks_the_consented_callback(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """The consent was for one callback before the caller opted out again: no dial."""
    task = make_task(nps=None, wants_callback=True)
    claim(client, task, agent)
    contact = db.session.get(Contact, task.contact_id)
    assert contact is not None
    contact.opted_out_at = utcnow() + timedelta(seconds=1)
    db.session.commit()
    response = call_now(client, task, agent)
    assert response.status_code == 409 and response.get_json()["error"] == "opted_out"


def test_bridge_twiml_dials_the_customer_from_the_company_number(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """The agent's leg gets <Dial callerId=company><Number statusCallback=...>customer."""
    import xml.etree.ElementTree as ET

    from tests.conftest import twilio_post

    task = make_task()
    claim(client, task, agent)
    attempt = dialing.start_call(task.id, agent)
    response = twilio_post(
        client,
        app,
        f"/twilio/voice/callbacks/attempts/{attempt.id}/bridge",
        {"CallSid": "CA" + "1" * 32, "CallStatus": "in-progress"},
    )
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own TwiML
    dial_verb = root.find("Dial")
    assert dial_verb is not None and dial_verb.get("callerId") == COMPANY_NUMBER
    number = dial_verb.find("Number")
    assert number is not None and number.text == CUSTOMER
    assert number.get("statusCallback", "").endswith(
        f"/twilio/voice/callbacks/attempts/{attempt.id}/customer-status"
    )


def test_callback_webhooks_refuse_unsigned_requests(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """A forged status callback is rejected and the attempt is untouched."""
    task = make_task()
    claim(client, task, agent)
    attempt = dialing.start_call(task.id, agent)
    response = client.post(
        f"/twilio/voice/callbacks/attempts/{attempt.id}/customer-status",
        data={"CallStatus": "completed", "CallSid": "CA" + "2" * 32},
    )
    assert response.status_code == 403
    assert attempts()[0].status is AttemptStatus.DIALING
