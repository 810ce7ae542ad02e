"""Factories for dashboard tests: teams, people, sessions with answers and recordings."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g

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
    Team,
    User,
)
from simulator.audio import tone_wav
from simulator.fake_state import FakeTwilio
from transcription.analysis import analyse_comment

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_team(name: str) -> Team:
    team = Team(name=name)
    db.session.add(team)
    db.session.commit()
    return team


def make_user(role: Role = Role.MANAGER, team: Team | None = None, email: str = "") -> User:
    user = User(
        email=email or f"user{next(_seq)}@example.com", role=role, team_id=team.id if team else None
    )
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def login(client: Any, user: User) -> None:
    """Sign in through the real form (CSRF token included)."""
    forget_csrf()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302


def forget_csrf() -> None:
    """The tests' app context outlives requests; drop the token Flask-WTF cached in ``g``."""
    g.pop("csrf_token", None)


def csrf_token(client: Any, path: str) -> str:
    forget_csrf()
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, f"no CSRF token on {path}"
    return token.group(1)


def demo_survey() -> Survey:
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None
    return survey


def make_session(
    *,
    survey: Survey | None = None,
    phone: str = "+14155550123",
    nps: int | None = None,
    csat: int | None = None,
    resolved: int | None = None,
    comment: str | None = None,
    at: datetime | None = None,
    is_test: bool = False,
    asked_for_human: bool = False,
    wants_callback: bool | None = None,
    opted_out: bool = False,
    outcome: SurveyOutcome = SurveyOutcome.COMPLETED,
    audio_dir: Path | None = None,
    twilio: FakeTwilio | None = None,
) -> CallSession:
    """A finished survey call with the given answers and, with ``comment``, a recording."""
    survey = survey or demo_survey()
    version = survey.active_version
    assert version is not None
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == phone))
    if contact is None:
        contact = Contact(phone=phone)
        db.session.add(contact)
    created = at or utcnow() - timedelta(minutes=30)
    session = CallSession(
        call_sid=f"CA{next(_seq):032d}",
        survey_version=version,
        contact=contact,
        from_number=phone,
        to_number="+15005550006",
        direction="inbound",
        status=CallStatus.COMPLETED,
        outcome=outcome,
        is_test=is_test,
        asked_for_human=asked_for_human,
        wants_callback=wants_callback,
        opted_out=opted_out,
        created_at=created,
        answered_at=created,
        ended_at=created + timedelta(minutes=2),
        duration_seconds=120,
    )
    db.session.add(session)
    db.session.flush()
    by_key = {q.key: q for q in version.questions}
    for step, (key, value) in enumerate((("nps", nps), ("csat", csat), ("resolved", resolved))):
        if value is not None and key in by_key:
            db.session.add(
                Answer(
                    session_id=session.id,
                    question_id=by_key[key].id,
                    value=value,
                    digits=str(value),
                    created_at=created + timedelta(seconds=20 * (step + 1)),
                )
            )
    if comment is not None:
        make_recording(session, comment, audio_dir, twilio)
    db.session.commit()
    return session


def make_recording(
    session: CallSession, comment: str, audio_dir: Path | None, twilio: FakeTwilio | None = None
) -> Recording:
    """An analysed comment; with ``twilio`` the fake holds Twilio's copy under its SID."""
    sid = f"RE{next(_seq):032d}"
    if twilio is not None:
        sid, _, _ = twilio.store(twilio.account_sid, session.call_sid, tone_wav(1.0))
    path = None
    size = None
    if audio_dir is not None:
        audio_dir.mkdir(parents=True, exist_ok=True)
        wav = tone_wav(1.0)
        target = audio_dir / f"{sid}.wav"
        target.write_bytes(wav)
        path, size = str(target), len(wav)
    rec = Recording(
        recording_sid=sid,
        session_id=session.id,
        media_url=f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{sid}",
        duration_seconds=1,
        status=RecordingStatus.ANALYSED,
        media_ready=True,
        local_path=path,
        size_bytes=size,
        transcript=comment,
        transcript_engine="test",
        analysis=analyse_comment(comment).to_dict(),
        created_at=session.created_at + timedelta(minutes=1),
        updated_at=session.created_at + timedelta(minutes=4),
    )
    db.session.add(rec)
    db.session.flush()
    return rec


@pytest.fixture
def recordings_dir(app: Flask) -> Path:
    return Path(app.config["RECORDINGS_DIR"])


@pytest.fixture
def manager(app: Flask) -> User:
    return make_user(Role.MANAGER, email="boss@example.com")


@pytest.fixture
def signed_in(client: Any, manager: User) -> Any:
    """A test client signed in as a manager without a team (sees the demo survey)."""
    login(client, manager)
    return client
