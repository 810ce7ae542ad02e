"""Permission to text a customer: granted with a time and a source, withdrawn by any opt-out.

A row is one grant; it stays current until ``withdrawn_at`` is set. Consent lives in core
(not with the SMS channel in ``texts``) because every opt-out path, voice and text alike,
goes through ``core.contacts.opt_out``, which must be able to withdraw it.

Consent is per contact (one E.164 number): it needs the number to text, unlike a
suppression, which is kept only as a hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core import events
from core.db import UTCDateTime, db, utcnow
from core.models import Contact


class TextConsent(db.Model):  # type: ignore[name-defined]
    """One grant of permission to text a contact, until withdrawn."""

    __tablename__ = "text_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(32))  # voice_survey, api, sms_keyword, dashboard…
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_source: Mapped[str | None] = mapped_column(String(32))


def current(contact: Contact | None) -> TextConsent | None:
    """The contact's standing consent, or None."""
    if contact is None or contact.id is None:
        return None
    return db.session.scalar(
        db.select(TextConsent)
        .where(TextConsent.contact_id == contact.id)
        .where(TextConsent.withdrawn_at.is_(None))
        .order_by(TextConsent.granted_at.desc())
        .limit(1)
    )


def ever_granted(contact: Contact | None) -> bool:
    """True when the contact gave permission at some time, even if since withdrawn."""
    if contact is None or contact.id is None:
        return False
    found = db.session.scalar(
        db.select(TextConsent.id).where(TextConsent.contact_id == contact.id).limit(1)
    )
    return found is not None


def grant(contact: Contact, source: str, *, now: datetime | None = None) -> TextConsent:
    """Record permission to text; a standing consent is kept as it is (idempotent)."""
    standing = current(contact)
    if standing is not None:
        return standing
    db.session.flush()  # the contact's id
    consent = TextConsent(contact_id=contact.id, granted_at=now or utcnow(), source=source[:32])
    db.session.add(consent)
    events.record("texts.consent_granted", data={"contact_id": contact.id, "source": source})
    return consent


def withdraw(contact: Contact | None, source: str, *, now: datetime | None = None) -> bool:
    """End the contact's consent; True if there was one."""
    if contact is None or contact.id is None:
        return False
    rows = db.session.scalars(
        db.select(TextConsent)
        .where(TextConsent.contact_id == contact.id)
        .where(TextConsent.withdrawn_at.is_(None))
    ).all()
    for row in rows:
        row.withdrawn_at, row.withdrawn_source = now or utcnow(), source[:32]
    if rows:
        events.record("texts.consent_withdrawn", data={"contact_id": contact.id, "source": source})
    return bool(rows)
