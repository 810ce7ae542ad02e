"""Contacts: a customer's number, opt-out and do-not-call state."""

from __future__ import annotations

import phonenumbers
from phonenumbers import timezone as phone_timezones

from core import consents, events, suppression
from core.db import db, utcnow
from core.models import CallSession, Contact, SuppressionKind
from core.phones import InvalidNumber as InvalidNumber
from core.phones import canonical
from core.phones import to_e164 as to_e164

# What replaces a caller's number (and other personal fields) once their data is erased.
ERASED = "erased"


def guess_timezone(number: str) -> str | None:
    """The number's time zone when the numbering plan gives exactly one."""
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None
    real = [z for z in zones if z != "Etc/Unknown"]
    return real[0] if len(real) == 1 else None


def find(number: str) -> Contact | None:
    """The contact for ``number`` in any written form ("1 415 …" is "+1415…")."""
    return db.session.scalar(db.select(Contact).where(Contact.phone == canonical(number)))


def get_or_create(number: str) -> Contact:
    """The one contact for ``number`` (E.164, ``core.phones``); a new one carries the
    number's suppressions.

    So a caller whose data was erased (the contact renamed, only the hash kept) is still
    opted out or on the do-not-call list when they call or are called again.
    """
    number = canonical(number)
    contact = find(number)
    if contact is not None:
        return contact
    kept = suppression.held(number)
    contact = Contact(
        phone=number,
        timezone=guess_timezone(number),
        opted_out_at=kept.get(SuppressionKind.OPT_OUT),
        do_not_call_at=kept.get(SuppressionKind.DO_NOT_CALL),
    )
    return events.insert_or_get(contact, Contact.phone == number)


def opt_out(contact: Contact | None, *, source: str, session: CallSession | None = None) -> None:
    """Opt the contact out of all future surveys, at once and for good.

    The opt-out is kept by the number's hash too (``core.suppression``), which outlives
    erasure of the contact. Any opt-out, on any channel, also withdraws permission to text.
    """
    if contact is None:
        return
    if contact.opted_out_at is None:
        contact.opted_out_at = utcnow()
    suppression.add(contact.phone, SuppressionKind.OPT_OUT, source)
    consents.withdraw(contact, source)
    events.record(
        "contact.opted_out", session=session, data={"contact_id": contact.id, "source": source}
    )


def set_callback_number(contact: Contact | None, number: str) -> None:
    """Another number to call the contact back on, in its one written form."""
    if contact is not None:
        contact.callback_phone = canonical(number)
