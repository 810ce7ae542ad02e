"""Factories for dashboard tests: teams, people, sessions with answers and recordings."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.db import db, utcnow
from core.models import (
    CallSession,
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
from tests.factories import finished_session, login, make_user, sequence
from transcription.analysis import analyse_comment


def make_team(name: str) -> Team:
    team = Team(name=name)
    db.session.add(team)
    db.session.commit()
    return team


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
    session = finished_session(
        survey=survey,
        phone=phone,
        started=at or utcnow() - timedelta(minutes=30),
        scores={"nps": nps, "csat": csat, "resolved": resolved},
        outcome=outcome,
        is_test=is_test,
        asked_for_human=asked_for_human,
        wants_callback=wants_callback,
        opted_out=opted_out,
    )
    if comment is not None:
        make_recording(session, comment, audio_dir, twilio)
    db.session.commit()
    return session


def make_recording(
    session: CallSession, comment: str, audio_dir: Path | None, twilio: FakeTwilio | None = None
) -> Recording:
    """An analysed comment; with ``twilio`` the fake holds Twilio's copy under its SID."""
    sid = f"RE{next(sequence):032d}"
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
