"""Delete this caller's data: recordings, transcripts and personal fields everywhere,
including Twilio's copies and the themes their comments were in, leaving an audit row
without the number.

An opt-out or do-not-call entry is not personal data we may drop: it is the caller's own
request, so it stays, as the keyed hash ``core.suppression`` keeps (never the number)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, or_, select

from callbacks import links
from core import contacts, events, suppression, survey_requests
from core.contacts import ERASED
from core.db import db
from core.models import Answer, CallSession, Contact, Event, SuppressionKind, User
from texts import privacy as text_privacy
from themes import privacy as theme_privacy
from transcription.retention import delete_audio

log = logging.getLogger(__name__)


@dataclass
class ErasureReport:
    sessions: int
    recordings: int
    twilio_deleted: int
    twilio_pending: int
    contact_found: bool
    # Suppressions kept (by hash) after the erasure: "opt_out", "do_not_call".
    kept: list[str] = field(default_factory=list)

    @property
    def found_anything(self) -> bool:
        return self.contact_found or self.sessions > 0

    def summary(self) -> str:
        """One sentence for the person who asked."""
        if not self.found_anything:
            text = "We hold nothing for that number. The request is logged."
        else:
            text = (
                f"Erased {self.sessions} call(s) and {self.recordings} recording(s); "
                f"Twilio deleted {self.twilio_deleted} of its copies."
            )
        if self.twilio_pending:
            text += f" {self.twilio_pending} Twilio copy(ies) will be retried by the retention job."
        if self.kept:
            lists = " and ".join(KEPT_WORDS[k] for k in self.kept)
            text += f" The number stays on the {lists}, kept only as a keyed hash."
        return text


KEPT_WORDS = {"opt_out": "opt-out list", "do_not_call": "do-not-call list"}


def keep_suppressions(number: str, contact: Contact | None, user_id: int | None) -> list[str]:
    """Make sure the contact's opt-out / do-not-call outlives it; the kinds now held."""
    if contact is not None and contact.opted_out_at is not None:
        suppression.add(number, SuppressionKind.OPT_OUT, "erasure", user_id)
    if contact is not None and contact.do_not_call_at is not None:
        suppression.add(number, SuppressionKind.DO_NOT_CALL, "erasure", user_id)
    return sorted(kind.value for kind in suppression.held(number))


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


def scrub_events(secrets: tuple[str, ...]) -> None:
    """The number out of every event that holds it, with or without a call (a task's or a
    text's event names no session)."""
    text = cast(Event.data, Text)
    found = select(Event).where(or_(*(text.contains(s, autoescape=True) for s in secrets)))
    for event in db.session.scalars(found):
        if any(s in json.dumps(event.data) for s in secrets):
            event.data = _scrub(event.data, secrets)


def erase_caller(raw_number: str, user_id: int | None) -> ErasureReport:
    """Remove everything personal we hold for a phone number, here and on Twilio.

    ``user_id`` is whoever asked (None: an integration through the bearer API). The
    number's opt-out and do-not-call entries stay, by hash.

    Raises:
        contacts.InvalidNumber: if ``raw_number`` is not a phone number.
    """
    number = contacts.to_e164(raw_number)
    contact = contacts.find(number)
    given = {number} | ({contact.callback_phone} if contact and contact.callback_phone else set())
    # Rows written before numbers had one form (core.phones) may hold them without "+".
    numbers = given | {n.lstrip("+") for n in given}
    conditions: list[ColumnElement[bool]] = [
        CallSession.from_number.in_(numbers),
        CallSession.to_number.in_(numbers),
        CallSession.callback_number.in_(numbers),
    ]
    if contact is not None:
        conditions.append(CallSession.contact_id == contact.id)
    sessions = list(db.session.scalars(select(CallSession).where(or_(*conditions))))
    ids = [s.id for s in sessions]
    secrets = tuple(sorted(numbers, key=len, reverse=True))

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
    scrub_events(secrets)
    links.erase_caller(ids, contact.id if contact else None)
    survey_requests.erase(numbers)
    text_privacy.erase(numbers, contact)
    kept = keep_suppressions(number, contact, user_id)
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
        kept=kept,
    )
    events.record(
        "caller.data_deleted",
        user_id=user_id,
        data={
            "contact_id": contact.id if contact else None,
            "number_hash": suppression.number_hash(number),
            "suppressions_kept": kept,
            "sessions": report.sessions,
            "recordings": report.recordings,
            "twilio_deleted": report.twilio_deleted,
            "twilio_pending": report.twilio_pending,
        },
    )
    db.session.commit()
    # After the commit: themes take their own lock, and find the comments by their gone words.
    theme_privacy.forget_erased()
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
