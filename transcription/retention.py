"""Recording retention: audio older than ``RECORDING_RETENTION_DAYS`` is deleted here and on
Twilio; transcripts stay until a caller's data is erased.

Twilio failures never stop local deletion: the row keeps ``twilio_deleted_at`` empty and
the next scheduled run tries Twilio again. ``delete_twilio_copy`` is the one way any part
of the system removes Twilio's copy of a recording.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select
from twilio.base.exceptions import TwilioRestException

from core import events
from core.db import db, utcnow
from core.models import Recording, RecordingStatus
from core.twilio_rest import twilio_client
from transcription import storage

log = logging.getLogger(__name__)
BATCH = 500


def delete_twilio_copy(rec: Recording) -> bool:
    """Delete Twilio's copy; True when it is gone (a 404 means it already was)."""
    if rec.twilio_deleted_at is not None:
        return True
    try:
        twilio_client().recordings(rec.recording_sid).delete()
    except TwilioRestException as exc:
        if exc.status != 404:
            log.warning("Twilio refused to delete %s: %s", rec.recording_sid, exc.msg)
            return False
    except Exception:  # network trouble: keep going, the next run retries
        log.exception("could not reach Twilio to delete %s", rec.recording_sid)
        return False
    rec.twilio_deleted_at = utcnow()
    return True


def delete_stored_copy(rec: Recording) -> None:
    """Remove our copy of the audio from every storage backend and forget where it was.

    Joins the caller's transaction (the database backend): commit to make it final.
    """
    storage.delete_everywhere(rec.recording_sid)
    rec.local_path = None
    rec.size_bytes = None


def delete_audio(rec: Recording) -> bool:
    """Delete the audio here and on Twilio; True when Twilio's copy is gone too."""
    delete_stored_copy(rec)
    twilio_gone = delete_twilio_copy(rec)
    rec.status = RecordingStatus.DELETED
    return twilio_gone


def expired_recordings(now: datetime, limit: int = BATCH) -> list[Recording]:
    """Recordings past retention that still have audio somewhere, and earlier deletions
    whose Twilio copy could not be removed yet."""
    cutoff = now - timedelta(days=int(current_app.config["RECORDING_RETENTION_DAYS"]))
    return list(
        db.session.scalars(
            select(Recording)
            .where(
                or_(
                    and_(
                        Recording.created_at < cutoff,
                        or_(
                            Recording.local_path.is_not(None), Recording.twilio_deleted_at.is_(None)
                        ),
                    ),
                    and_(
                        Recording.status == RecordingStatus.DELETED,
                        Recording.twilio_deleted_at.is_(None),
                    ),
                )
            )
            .order_by(Recording.id)
            .limit(limit)
        )
    )


def purge_expired(now: datetime | None = None) -> int:
    """Delete expired audio; returns how many recordings were handled (committed one by one)."""
    now = now or utcnow()
    handled = 0
    for rec in expired_recordings(now):
        twilio_gone = delete_audio(rec)
        events.record(
            "recording.expired",
            session=rec.session,
            data={"recording_id": rec.id, "twilio_deleted": twilio_gone},
        )
        db.session.commit()
        handled += 1
    if handled:
        log.info("retention: deleted the audio of %s recording(s)", handled)
    return handled


def pending_expiry_count(now: datetime | None = None) -> int:
    return len(expired_recordings(now or utcnow(), limit=10_000))
