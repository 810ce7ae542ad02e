"""Delete this caller's data: recordings, transcripts and personal fields everywhere,
including Twilio's copies, leaving an audit row without the number."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from callbacks import links
from core import contacts, events
from core.contacts import ERASED
from core.db import db
from core.models import Answer, CallSession, Event, User
from transcription.retention import delete_audio

log = logging.getLogger(__name__)


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
    links.erase_caller(ids, contact.id if contact else None)
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


def recent_erasures(limit: int = 10) -> list[tuple[Event, str | None]]:
    """Latest erasures and expiries with the email of whoever did them (None: the job)."""
    rows = db.session.execute(
        select(Event, User.email)
        .outerjoin(User, Event.user_id == User.id)
        .where(Event.kind.in_(["caller.data_deleted", "recording.expired"]))
        .order_by(Event.id.desc())
        .limit(limit)
    ).all()
    return [(event, email) for event, email in rows]
