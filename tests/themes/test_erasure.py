"""Erasing a caller, seen from themes: the caller's comments, their embeddings and any
machine name built from their words go at once, not at the next theming run."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select, text

from core.db import db, utcnow
from core.redis_client import get_redis
from dashboard.erasure import erase_caller
from tests.callbacks.conftest import AUTH
from tests.themes.conftest import by_topic, said
from themes import assign, naming, privacy, store
from themes.models import Theme, ThemeComment

CALLER = "+14155550177"
# Two calls of one caller: "kettle" is shared by two comments, so it can name the theme.
WORDS = [
    "my refund for the broken kettle never arrived",
    "still waiting on the refund for that broken kettle",
]


def seed() -> list[int]:
    """Four callers and the erased caller's two calls about refunds, themed; the erased
    caller's recording ids."""
    now = utcnow()
    for n, words in enumerate(by_topic()["refund"][:4]):
        said(words, now - timedelta(hours=n + 1), phone=f"+1415555030{n}")
    erased = [said(w, now - timedelta(minutes=n + 5), phone=CALLER) for n, w in enumerate(WORDS)]
    assign.assign_new(now=now)
    [theme] = db.session.scalars(select(Theme).where(Theme.size > 0)).all()
    assert theme.size == 6 and "kettle" in theme.name.lower()  # the caller's words name it
    return [s.recordings[0].id for s in erased]


def themes_tables() -> str:
    """Every row of every themes table, as one string (vectors as hex)."""
    dump = []
    for table in ("themes", "theme_comments", "theme_alerts"):
        for row in db.session.execute(text(f"SELECT * FROM {table}")).all():  # noqa: S608
            dump.append(json.dumps([v.hex() if isinstance(v, bytes) else str(v) for v in row]))
    return "\n".join(dump)


def test_erasure_takes_the_callers_comments_out_of_themes_at_once(
    app: Flask, client: Any, signed_in: Any
) -> None:
    """No themes row keeps the erased comments' vectors or words; page and API show none."""
    recording_ids = seed()
    gone = [
        c.embedding
        for c in db.session.scalars(
            select(ThemeComment).where(ThemeComment.recording_id.in_(recording_ids))
        )
    ]
    erase_caller(CALLER, None)
    db.session.expire_all()
    left = select(ThemeComment.id).where(ThemeComment.recording_id.in_(recording_ids))
    assert db.session.scalars(left).all() == []
    [theme] = db.session.scalars(select(Theme).where(Theme.size > 0)).all()
    remaining = store.vectors(list(db.session.scalars(select(ThemeComment))))
    assert theme.size == len(remaining) == 4
    assert np.allclose(store.theme_sum(theme, remaining.shape[1]), remaining.sum(axis=0), atol=1e-5)
    assert "kettle" not in theme.name.lower() and theme.name != naming.UNNAMED
    stored = themes_tables()
    assert "kettle" not in stored.lower()
    assert all(vector.hex() not in stored for vector in gone)
    shown = client.get("/api/themes?days=30", headers=AUTH).get_data(as_text=True)
    assert "kettle" not in shown.lower() and '"count":4' in shown.replace(" ", "")
    page = signed_in.get("/dashboard/themes").get_data(as_text=True)
    assert "kettle" not in page.lower() and "refund" in page.lower()


def test_while_themes_are_busy_the_name_is_hidden_until_the_next_run(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running job holds the themes: the machine name goes now, the comments next run."""
    seed()
    monkeypatch.setattr(privacy, "WAIT_SECONDS", 0.1)
    lock = get_redis().lock(store.LOCK_NAME, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        erase_caller(CALLER, None)
    finally:
        lock.release()
    db.session.expire_all()
    [theme] = db.session.scalars(select(Theme).where(Theme.size > 0)).all()
    assert theme.name == naming.UNNAMED and "kettle" not in themes_tables().lower()
    assert assign.assign_new(now=utcnow()).forgotten == 2
    db.session.expire_all()
    assert theme.size == 4 and "refund" in theme.name.lower()
    assert "kettle" not in themes_tables().lower()
