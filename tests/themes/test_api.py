"""GET /api/themes: from recorded comments through the worker to the API, and its checks."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.db import db
from core.models import Recording, RecordingStatus
from simulator.actions import Press, RecordAudio
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator
from tests.callbacks.conftest import AUTH
from tests.conftest import COMPANY_NUMBER, Worker
from tests.themes.conftest import NOW, by_topic, said
from themes import assign
from transcription.analysis import analyse_comment


def test_recorded_comments_reach_the_api_as_themes(
    app: Flask,
    client: Any,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
) -> None:
    """Six callers record comments; after the worker, the API lists two themes of three."""
    topics = by_topic()
    words = [topics["refund"][i] for i in (0, 2, 4)] + [topics["app_login"][i] for i in (0, 2, 6)]
    for n in range(len(words)):
        simulator.call(
            survey_url, from_=f"+1415555030{n}", to=COMPANY_NUMBER, status_callback=status_url
        ).run([Press("4#"), Press("3"), Press("2"), Press("1"), RecordAudio(tone_wav(1.0))])
    recordings = list(db.session.scalars(select(Recording).order_by(Recording.id)))
    assert len(recordings) == 6
    # What Whisper and the comment reader would have made of each caller's words.
    for rec, text in zip(recordings, words, strict=True):
        rec.transcript, rec.analysis = text, analyse_comment(text).to_dict()
        rec.status = RecordingStatus.ANALYSED
    db.session.commit()
    worker.run()  # process_recording (already read) -> callback rules -> assign_themes

    response = client.get("/api/themes?days=7", headers=AUTH)
    assert response.status_code == 200
    themes = response.get_json()
    assert [t["count"] for t in themes] == [3, 3]
    assert all(t["rising"] is False for t in themes)
    by_session = {rec.session_id: text for rec, text in zip(recordings, words, strict=True)}
    for theme in themes:
        assert len(theme["examples"]) == 3
        for example in theme["examples"]:
            assert by_session[example["session_id"]] == example["text"]
    names = " ".join(t["name"].lower() for t in themes)
    assert "refund" in names and ("app" in names or "password" in names)


def test_largest_theme_comes_first(app: Flask, client: Any, at_now: None) -> None:
    """Themes are ordered by how many comments the period holds."""
    topics = by_topic()
    for text in [topics["app_login"][i] for i in (0, 2, 6)] + topics["refund"][:6]:
        said(text)
    assign.assign_new(now=NOW)
    themes = client.get("/api/themes", headers=AUTH).get_json()
    assert [t["count"] for t in themes] == [6, 3]
    assert "refund" in themes[0]["name"].lower()


@pytest.mark.parametrize("days", ["0", "366", "-1", "seven", "7.5", ""])
def test_days_outside_one_to_365_is_a_400(app: Flask, client: Any, days: str) -> None:
    """N must be a whole number from 1 to 365; the error names it."""
    response = client.get(f"/api/themes?days={days}", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert "days" in response.get_json()["message"]


def test_the_api_needs_the_bearer_token(app: Flask, client: Any) -> None:
    """Without Authorization: Bearer API_TOKEN, nothing is told."""
    assert client.get("/api/themes").status_code == 401


def test_no_comments_is_an_empty_list(app: Flask, client: Any) -> None:
    """A quiet period answers [] (not an error)."""
    response = client.get("/api/themes?days=365", headers=AUTH)
    assert response.status_code == 200 and response.get_json() == []
