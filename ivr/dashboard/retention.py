"""Recording retention and "delete this caller's data".

* ``purge_expired_recordings`` (scheduled by ``workers.cron``) deletes audio older than
  ``RECORDING_RETENTION_DAYS`` here and on Twilio; transcripts stay until erasure.
* ``erase_caller`` removes a phone number's recordings, transcripts and personal fields
  everywhere, including Twilio's copies, and leaves an audit row without the number.

Twilio failures never stop local deletion: the row keeps ``twilio_deleted_at`` empty and
the next scheduled run tries Twilio again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select
from twilio.base.exceptions import TwilioRestException

from ivr import contacts, events
from ivr.dashboard import callback_link
from ivr.db import db, utcnow
from ivr.models import (
    Answer,
    CallSession,
    Event,
    Recording,
    RecordingStatus,
)
from workers.context import job_context

log = logging.getLogger(__name__)
ERASED = "erased"
BATCH = 500


def delete_twilio_copy(rec: Recording) -> bool:
    """Delete Twilio's copy; True when it is gone (a 404 means it already was)."""
    if rec.twilio_deleted_at is not None:
        return True
    from ivr.outbound import twilio_client

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


def delete_local_copy(rec: Recording) -> None:
    """Remove our audio file (if it is inside RECORDINGS_DIR) and forget its path."""
    if rec.local_path:
        path = Path(rec.local_path).resolve()
        root = Path(current_app.config["RECORDINGS_DIR"]).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)
        else:
            log.warning("not deleting %s: outside RECORDINGS_DIR", path)
    rec.local_path = None
    rec.size_bytes = None


def delete_audio(rec: Recording) -> bool:
    """Delete the audio here and on Twilio; True when Twilio's copy is gone too."""
    delete_local_copy(rec)
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


def purge_expired_recordings() -> int:
    """Scheduled job: apply the retention period (no arguments; opens its own context)."""
    with job_context():
        return purge_expired()


# --- erasure -----------------------------------------------------------------------------


@dataclass
class ErasureReport:
    sessions: int
    recordings: int
    twilio_deleted: int
    twilio_pending: int
    contact_found: bool

    @property
    def found_anything(self) -> bool:
        return self.contact_found or self.sessions > 0

    def summary(self) -> str:
        """One sentence for the person who asked."""
        if not self.found_anything:
            return "We hold nothing for that number. The request is logged."
        text = (
            f"Erased {self.sessions} call(s) and {self.recordings} recording(s); "
            f"Twilio deleted {self.twilio_deleted} of its copies."
        )
        if self.twilio_pending:
            text += f" {self.twilio_pending} Twilio copy(ies) will be retried by the retention job."
        return text


def phone_digest(number: str) -> str:
    """A keyed hash of the number, so two erasures of one number can be linked, not read."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()[:24]


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, ERASED)
        return value
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    return value


def erase_caller(raw_number: str, user_id: int) -> ErasureReport:
    """Remove everything personal we hold for a phone number, here and on Twilio.

    Raises:
        contacts.InvalidNumber: if ``raw_number`` is not a phone number.
    """
    number = contacts.to_e164(raw_number)
    contact = contacts.find(number)
    numbers = {number} | ({contact.callback_phone} if contact and contact.callback_phone else set())
    conditions = [
        CallSession.from_number == number,
        CallSession.to_number == number,
        CallSession.callback_number == number,
    ]
    if contact is not None:
        conditions.append(CallSession.contact_id == contact.id)
    sessions = list(db.session.scalars(select(CallSession).where(or_(*conditions))))
    ids = [s.id for s in sessions]
    secrets = tuple(sorted(numbers | {n.lstrip("+") for n in numbers}, key=len, reverse=True))

    recordings = 0
    twilio_deleted = 0
    for session in sessions:
        for rec in session.recordings:
            recordings += 1
            twilio_deleted += delete_audio(rec)
            rec.transcript = None
            rec.analysis = None
            rec.media_url = None
            rec.failure_reason = None
            events.record(
                "recording.deleted",
                session=session,
                user_id=user_id,
                data={"recording_id": rec.id, "reason": "caller erasure"},
            )
        for number_field in ("from_number", "to_number"):
            value = getattr(session, number_field)
            if value in numbers or value == session.customer_number:
                setattr(session, number_field, ERASED)
        session.callback_number = None
    if ids:
        for answer in db.session.scalars(select(Answer).where(Answer.session_id.in_(ids))):
            answer.speech = None  # the caller's own words; the score stays
        for event in db.session.scalars(select(Event).where(Event.session_id.in_(ids))):
            if any(s in json.dumps(event.data) for s in secrets):
                event.data = _scrub(event.data, secrets)
    callback_link.scrub(ids, contact.id if contact else None)
    if contact is not None:
        contact.phone = f"{ERASED}-{contact.id}"
        contact.callback_phone = None
        contact.timezone = None
    report = ErasureReport(
        sessions=len(sessions),
        recordings=recordings,
        twilio_deleted=twilio_deleted,
        twilio_pending=recordings - twilio_deleted,
        contact_found=contact is not None,
    )
    events.record(
        "caller.data_deleted",
        user_id=user_id,
        data={
            "contact_id": contact.id if contact else None,
            "number_digest": phone_digest(number),
            "sessions": report.sessions,
            "recordings": report.recordings,
            "twilio_deleted": report.twilio_deleted,
            "twilio_pending": report.twilio_pending,
        },
    )
    db.session.commit()
    return report


def pending_expiry_count(now: datetime | None = None) -> int:
    return len(expired_recordings(now or utcnow(), limit=10_000))


def recent_erasures(limit: int = 10) -> list[tuple[Event, str | None]]:
    """Latest erasures and expiries with the email of whoever did them (None: the job)."""
    from ivr.models import User

    rows = db.session.execute(
        select(Event, User.email)
        .outerjoin(User, Event.user_id == User.id)
        .where(Event.kind.in_(["caller.data_deleted", "recording.expired"]))
        .order_by(Event.id.desc())
        .limit(limit)
    ).all()
    return [(event, email) for event, email in rows]
