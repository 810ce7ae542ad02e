"""Rows and signed-in clients for tests: one place for the helpers every package's tests use."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import g, has_app_context

from core.contacts import guess_timezone
from core.db import db, utcnow
from core.models import (
    Answer,
    CallSession,
    CallStatus,
    Contact,
    Recording,
    Role,
    Survey,
    SurveyOutcome,
    Team,
    User,
)

PASSWORD = "correct-horse-battery"
SCORED_KEYS = ("nps", "csat", "resolved")
sequence = itertools.count(1)


def make_user(
    role: Role = Role.MANAGER,
    team: Team | None = None,
    email: str = "",
    phone: str | None = None,
) -> User:
    user = User(
        email=email or f"user{next(sequence)}@example.com",
        role=role,
        team_id=team.id if team else None,
        phone=phone,
    )
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def forget_csrf() -> None:
    """The tests' app context outlives requests; drop the token Flask-WTF cached in ``g``."""
    if has_app_context():
        g.pop("csrf_token", None)


def csrf_token(client: Any, path: str) -> str:
    forget_csrf()
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, f"no CSRF token on {path}"
    return token.group(1)


def login(client: Any, user: User) -> None:
    """Sign in through the real form (CSRF token included)."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def demo_survey() -> Survey:
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None
    return survey


def finished_session(
    *,
    survey: Survey | None = None,
    phone: str = "+14155550123",
    started: datetime | None = None,
    scores: dict[str, int | None] | None = None,
    outcome: SurveyOutcome = SurveyOutcome.COMPLETED,
    **fields: Any,
) -> CallSession:
    """A completed survey call (flushed, not committed) with these answers and fields."""
    version = (survey or demo_survey()).active_version
    assert version is not None
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == phone))
    if contact is None:
        contact = Contact(phone=phone, timezone=guess_timezone(phone))
        db.session.add(contact)
    start = started or utcnow() - timedelta(minutes=2)
    session = CallSession(
        call_sid=f"CA{next(sequence):032d}",
        survey_version=version,
        contact=contact,
        from_number=phone,
        to_number="+15005550006",
        direction="inbound",
        status=CallStatus.COMPLETED,
        outcome=outcome,
        created_at=start,
        answered_at=start,
        ended_at=start + timedelta(minutes=2),
        duration_seconds=120,
        **fields,
    )
    db.session.add(session)
    db.session.flush()
    by_key = {q.key: q for q in version.questions}
    for step, (key, value) in enumerate((scores or {}).items()):
        if value is not None and key in by_key:
            db.session.add(
                Answer(
                    session_id=session.id,
                    question_id=by_key[key].id,
                    value=value,
                    digits=str(value),
                    created_at=start + timedelta(seconds=20 * (step + 1)),
                )
            )
    return session


def leave_comment(
    simulator: Any, survey_url: str, status_url: str, audio: bytes | Path
) -> Recording:
    """Take the survey with a low score and record ``audio`` as the comment."""
    from simulator.actions import Press, RecordAudio

    simulator.call(
        survey_url, from_="+14155550123", to="+15005550006", status_callback=status_url
    ).run([Press("3#"), Press("2"), Press("2"), Press("1"), RecordAudio(audio), Press("2")])
    rec = db.session.scalar(db.select(Recording))
    assert rec is not None
    return rec


def reload_recording(rec: Recording) -> Recording:
    db.session.expire_all()
    fresh = db.session.get(Recording, rec.id)
    assert fresh is not None
    return fresh
