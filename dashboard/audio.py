"""Serving recording audio to people allowed to hear it, with Range for seeking.

The bytes come from the recording storage (``transcription.storage``), so with the
``database`` backend any web host plays what any worker stored.
"""

from __future__ import annotations

from flask import Response, abort, request, stream_with_context

from core import events
from core.db import db
from core.models import Recording
from transcription import storage


def playable(rec: Recording) -> bool:
    """True when we hold a copy of the audio (it may have been erased or expired)."""
    return storage.open_held(rec.recording_sid, rec.local_path) is not None


def starts_playback() -> bool:
    """A request for the start of the file (not a seek) counts as one play."""
    range_header = request.headers.get("Range", "")
    return not range_header or range_header.replace(" ", "").startswith("bytes=0-")


def _byte_range(size: int) -> tuple[int, int] | None:
    """The one range asked for, as (start, stop); None for the whole file.

    Several ranges at once are answered with the whole file, which HTTP allows.
    Raises 416 for a range outside the file.
    """
    asked = request.range
    if asked is None or asked.units != "bytes" or len(asked.ranges) != 1:
        return None
    found = asked.range_for_length(size)
    if found is None:
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
        abort(response)
    return found


def stream(rec: Recording, user_id: int, *, download: bool = False) -> Response:
    """Send the audio (206 partial content for Range requests), auditing plays and downloads.

    Never redirects to Twilio: audio we do not hold is a 404.
    """
    audio = storage.open_held(rec.recording_sid, rec.local_path)
    if audio is None:
        abort(404)
    span = _byte_range(audio.size)
    if download or starts_playback():
        events.record(
            "recording.downloaded" if download else "recording.played",
            session=rec.session,
            user_id=user_id,
            data={"recording_id": rec.id},
        )
        db.session.commit()
    start, stop = span or (0, audio.size)
    # The database backend reads piece by piece inside the request's app context.
    response = Response(
        stream_with_context(audio.read(start, stop)),
        status=206 if span else 200,
        mimetype="audio/wav",
        direct_passthrough=True,
    )
    response.content_length = stop - start
    if span:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{audio.size}"
    name = f"recording-{rec.id}.wav"
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Accept-Ranges"] = "bytes"
    return response
