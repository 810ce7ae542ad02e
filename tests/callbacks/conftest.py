"""Factories for callback tests: agents, finished survey sessions, tasks, and a webhook sink."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask, request

from callbacks import evaluation
from callbacks.models import CallbackTask
from core.db import db, utcnow
from core.models import CallSession, Recording, RecordingStatus, Role, User
from simulator.testing import serve_app
from tests.conftest import API_TOKEN
from tests.factories import csrf_token, finished_session, login, make_user, sequence
from transcription.analysis import analyse_comment

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
CUSTOMER = "+14155550123"  # San Francisco: America/Los_Angeles
AGENT_PHONE = "+14155550100"


def make_agent(email: str = "", phone: str | None = AGENT_PHONE, role: Role = Role.AGENT) -> User:
    return make_user(role, email=email or f"agent{next(sequence)}@example.com", phone=phone)


def make_session(
    *,
    phone: str = CUSTOMER,
    nps: int | None = None,
    csat: int | None = None,
    resolved: int | None = None,
    comment: str | None = None,
    ended_at: datetime | None = None,
    asked_for_human: bool = False,
    transferred: bool = False,
    wants_callback: bool | None = None,
    callback_number: str | None = None,
    preference: str | None = None,
    opted_out: bool = False,
) -> CallSession:
    """A finished survey call with these answers (and an analysed comment, if given)."""
    ended = ended_at or utcnow()
    session = finished_session(
        phone=phone,
        started=ended - timedelta(minutes=2),
        scores={"nps": nps, "csat": csat, "resolved": resolved},
        asked_for_human=asked_for_human,
        transferred=transferred,
        wants_callback=wants_callback,
        callback_number=callback_number,
        callback_preference=preference,
        opted_out=opted_out,
    )
    if comment is not None:
        add_comment(session, comment)
    db.session.commit()
    return session


def add_comment(session: CallSession, text: str) -> Recording:
    """An analysed comment, the way the recording job leaves it."""
    rec = Recording(
        recording_sid=f"RE{next(sequence):032d}",
        session_id=session.id,
        status=RecordingStatus.ANALYSED,
        media_ready=True,
        transcript=text,
        transcript_engine="test",
        analysis=analyse_comment(text).to_dict(),
    )
    db.session.add(rec)
    db.session.commit()
    return rec


def make_task(now: datetime | None = None, **session_args: Any) -> CallbackTask:
    """A task opened by the rules for a low NPS (or whatever ``session_args`` say)."""
    session_args.setdefault("nps", 3)
    session = make_session(**session_args)
    task = evaluation.evaluate_session(session.id, now)
    assert task is not None
    return task


def reload_task(task_id: int) -> CallbackTask:
    db.session.expire_all()
    task = db.session.get(CallbackTask, task_id)
    assert task is not None
    return task


def claimed_task(client: Any, agent: User) -> tuple[CallbackTask, str]:
    """A new task claimed by ``agent``, signed in; returns it and their CSRF token."""
    task = make_task()
    login(client, agent)
    token = csrf_token(client, "/callbacks/")
    client.post(f"/callbacks/{task.id}/claim", data={"csrf_token": token})
    return task, token


@pytest.fixture
def agent(app: Flask) -> User:
    return make_agent("ann@example.com")


@pytest.fixture
def any_time(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calling hours all day, so tests do not depend on the clock."""
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-24:00")


@dataclass
class Sink:
    """A webhook receiver served for real: what supervisors' tooling would get."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def webhook_sink() -> Iterator[Sink]:
    sink = Sink()
    receiver = Flask("sink")

    @receiver.post("/hook")
    def hook() -> tuple[str, int]:
        sink.received.append(request.get_json(force=True))
        sink.arrived.set()
        return "", 204

    with serve_app(receiver) as url:
        sink.url = f"{url}/hook"
        yield sink
