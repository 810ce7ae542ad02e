"""Serving recording audio to people allowed to hear it, with Range for seeking."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, current_app, request, send_file

from core import events
from core.db import db
from core.models import Recording


def local_file(rec: Recording) -> Path | None:
    """Our copy of the audio, if it is still on disk inside RECORDINGS_DIR."""
    if not rec.local_path:
        return None
    path = Path(rec.local_path).resolve()
    root = Path(current_app.config["RECORDINGS_DIR"]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def starts_playback() -> bool:
    """A request for the start of the file (not a seek) counts as one play."""
    range_header = request.headers.get("Range", "")
    return not range_header or range_header.replace(" ", "").startswith("bytes=0-")


def stream(rec: Recording, user_id: int, *, download: bool = False) -> Response:
    """Send the audio (206 partial content for Range requests), auditing plays and downloads.

    Never redirects to Twilio: audio we do not hold is a 404.
    """
    path = local_file(rec)
    if path is None:
        abort(404)
    if download or starts_playback():
        events.record(
            "recording.downloaded" if download else "recording.played",
            session=rec.session,
            user_id=user_id,
            data={"recording_id": rec.id},
        )
        db.session.commit()
    response = send_file(
        path,
        mimetype="audio/wav",
        conditional=True,
        as_attachment=download,
        download_name=f"recording-{rec.id}.wav",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Accept-Ranges"] = "bytes"
    return response
