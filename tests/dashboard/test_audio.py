"""The recording endpoint: authorised, seekable, audited, never the Twilio URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from core.db import db
from core.models import Event, Role, Survey
from tests.dashboard.conftest import make_session, make_team
from tests.factories import login, make_user


def recording_id(recordings_dir: Path) -> int:
    s = make_session(nps=1, comment="It was bad.", audio_dir=recordings_dir)
    return s.recordings[0].id


def test_audio_streams_the_wav(app: Flask, signed_in: Any, recordings_dir: Path) -> None:
    """A manager gets the whole WAV with a 200."""
    response = signed_in.get(f"/dashboard/recordings/{recording_id(recordings_dir)}/audio")
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.get_data()[:4] == b"RIFF"


def test_range_requests_get_partial_content(
    app: Flask, signed_in: Any, recordings_dir: Path
) -> None:
    """A Range request is answered 206 with exactly the bytes asked for."""
    rid = recording_id(recordings_dir)
    response = signed_in.get(
        f"/dashboard/recordings/{rid}/audio", headers={"Range": "bytes=100-199"}
    )
    assert response.status_code == 206
    assert len(response.get_data()) == 100
    assert response.headers["Content-Range"].startswith("bytes 100-199/")


def test_other_team_gets_403(app: Flask, client: Any, recordings_dir: Path) -> None:
    """A manager of another team is refused the audio."""
    rid = recording_id(recordings_dir)
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None
    survey.team_id = make_team("Owners").id
    db.session.commit()
    login(client, make_user(Role.MANAGER, make_team("Others")))
    assert client.get(f"/dashboard/recordings/{rid}/audio").status_code == 403


def test_agent_of_the_team_may_listen(app: Flask, client: Any, recordings_dir: Path) -> None:
    """Agents reach the audio from the callbacks console for their team's calls."""
    rid = recording_id(recordings_dir)
    login(client, make_user(Role.AGENT))
    assert client.get(f"/dashboard/recordings/{rid}/audio").status_code == 200


def test_signed_out_request_does_not_get_audio(
    app: Flask, client: Any, recordings_dir: Path
) -> None:
    """Without a session the audio endpoint redirects to sign in."""
    rid = recording_id(recordings_dir)
    assert client.get(f"/dashboard/recordings/{rid}/audio").status_code == 302


def test_play_and_download_are_audited_once_per_play(
    app: Flask, signed_in: Any, manager: Any, recordings_dir: Path
) -> None:
    """Starting playback and downloading log events with the user; seeking does not."""
    rid = recording_id(recordings_dir)
    signed_in.get(f"/dashboard/recordings/{rid}/audio", headers={"Range": "bytes=0-"})
    signed_in.get(f"/dashboard/recordings/{rid}/audio", headers={"Range": "bytes=500-"})
    signed_in.get(f"/dashboard/recordings/{rid}/audio?download=1")
    kinds = db.session.execute(db.select(Event.kind, Event.user_id).order_by(Event.id)).all()
    audit = [(k, u) for k, u in kinds if k.startswith("recording.")]
    assert audit == [("recording.played", manager.id), ("recording.downloaded", manager.id)]


def test_missing_local_audio_is_404_not_a_twilio_redirect(app: Flask, signed_in: Any) -> None:
    """Audio we do not hold is a 404, never a redirect to Twilio."""
    s = make_session(nps=1, comment="bad")  # no local file
    response = signed_in.get(f"/dashboard/recordings/{s.recordings[0].id}/audio")
    assert response.status_code == 404
    assert "twilio" not in response.headers.get("Location", "")
