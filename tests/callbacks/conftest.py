"""Factories for callback tests: agents, finished survey sessions, tasks, and a webhook sink."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask, g, has_app_context, request

from callbacks import service
from callbacks.models import CallbackTask
from ivr.db import db, utcnow
from ivr.models import (
    Answer,
    CallSession,
    CallStatus,
    Contact,
    Recording,
    RecordingStatus,
    Role,
    Survey,
    SurveyOutcome,
    User,
)
from simulator.testing import serve_app
from tests.conftest import API_TOKEN
from transcription.analysis import analyse_comment

PASSWORD = "agent-password-1"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
CUSTOMER = "+14155550123"  # San Francisco: America/Los_Angeles
AGENT_PHONE = "+14155550100"
_seq = itertools.count(1)


def make_agent(email: str = "", phone: str | None = AGENT_PHONE, role: Role = Role.AGENT) -> User:
    user = User(email=email or f"agent{next(_seq)}@example.com", role=role, phone=phone)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def login(client: Any, user: User) -> None:
    """Sign in through the real form (CSRF token included)."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def csrf_token(client: Any, path: str) -> str:
    # Requests in tests share the fixture's app context, where Flask-WTF caches the token
    # in ``g``: forget it so each client gets a token for its own session.
    if has_app_context():
        g.pop("csrf_token", None)
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, f"no CSRF token on {path}"
    return token.group(1)


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
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None and survey.active_version is not None
    version = survey.active_version
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == phone))
    if contact is None:
        from ivr.contacts import guess_timezone

        contact = Contact(phone=phone, timezone=guess_timezone(phone))
        db.session.add(contact)
    ended = ended_at or utcnow()
    session = CallSession(
        call_sid=f"CA{next(_seq):032d}",
        survey_version=version,
        contact=contact,
        from_number=phone,
        to_number="+15005550006",
        direction="inbound",
        status=CallStatus.COMPLETED,
        outcome=SurveyOutcome.COMPLETED,
        asked_for_human=asked_for_human,
        transferred=transferred,
        wants_callback=wants_callback,
        callback_number=callback_number,
        callback_preference=preference,
        opted_out=opted_out,
        created_at=ended - timedelta(minutes=2),
        answered_at=ended - timedelta(minutes=2),
        ended_at=ended,
    )
    db.session.add(session)
    db.session.flush()
    by_key = {q.key: q for q in version.questions}
    for key, value in (("nps", nps), ("csat", csat), ("resolved", resolved)):
        if value is not None:
            db.session.add(Answer(session_id=session.id, question_id=by_key[key].id, value=value))
    if comment is not None:
        add_comment(session, comment)
    db.session.commit()
    return session


def add_comment(session: CallSession, text: str) -> Recording:
    """An analysed comment, the way the recording job leaves it."""
    rec = Recording(
        recording_sid=f"RE{next(_seq):032d}",
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
    task = service.evaluate_session(session.id, now)
    assert task is not None
    return task


def reload_task(task_id: int) -> CallbackTask:
    db.session.expire_all()
    task = db.session.get(CallbackTask, task_id)
    assert task is not None
    return task


@pytest.fixture
def agent(app: Flask) -> User:
    return make_agent("ann@example.com")


@pytest.fixture
def any_time(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calling hours all day, so tests do not depend on the clock."""
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-23:59")


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
