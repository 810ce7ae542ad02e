"""Comments for theme tests: our own labelled dev set (never the held-out file), calls
placed at given times, and a controlled clock."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pytest

from core.db import db
from core.models import CallSession, Survey
from dashboard import themes_views
from tests.conftest import FIXTURES
from tests.dashboard.conftest import make_session, manager, signed_in  # noqa: F401 - fixtures
from themes import api
from transcription.embeddings import get_embedder

DEV = FIXTURES / "themes" / "dev_comments.jsonl"
# A Wednesday noon (UTC): this week began on Monday 16 November 2026.
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@cache
def dev_rows() -> tuple[tuple[str, str], ...]:
    """(text, topic) of every comment in our dev set."""
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    return tuple((r["text"], r["topic"]) for r in rows)


@pytest.fixture
def at_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The themes API and page read ``NOW``: comments said at ``NOW`` stay in the period they
    ask about on any date (on the real clock they left it weeks after ``NOW``)."""
    for module in (api, themes_views):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)


def by_topic() -> dict[str, list[str]]:
    topics: dict[str, list[str]] = defaultdict(list)
    for text, topic in dev_rows():
        topics[topic].append(text)
    return topics


def embed(texts: list[str]) -> np.ndarray:
    return get_embedder().encode(texts)


def said(
    text: str,
    at: datetime = NOW - timedelta(hours=1),
    *,
    nps: int | None = None,
    survey: Survey | None = None,
    is_test: bool = False,
    phone: str = "+14155550123",
) -> CallSession:
    """A finished call at ``at`` whose recorded comment was transcribed and read as ``text``."""
    return make_session(comment=text, at=at, nps=nps, survey=survey, is_test=is_test, phone=phone)


def reload(model: type, row_id: int) -> object:
    db.session.expire_all()
    return db.session.get(model, row_id)
