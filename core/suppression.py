"""Numbers we must not survey or call: opt-outs and the do-not-call list.

Kept as a keyed hash (HMAC-SHA256) of the E.164 number, never the number itself, so an entry
survives "delete this caller's data": the hash can be checked against a number someone asks
us to dial, but not read back. The key is ``SUPPRESSION_HASH_KEY`` (``SECRET_KEY`` when
unset); changing it makes every stored entry unmatchable, so it must never change.

``suppression_reason`` is the one check every survey call, callback and SMS makes.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from flask import current_app
from sqlalchemy import and_

from core import events
from core.db import db, utcnow
from core.models import Contact, Suppression, SuppressionKind
from core.phones import canonical

# What suppression_reason answers for each kind; API errors use the same codes.
REASONS: dict[SuppressionKind, str] = {
    SuppressionKind.OPT_OUT: "opted_out",
    SuppressionKind.DO_NOT_CALL: "do_not_call",
}
# Audit event kinds are "<prefix>.added" / "<prefix>.removed", so the audit page can filter
# them in SQL without reading JSON.
EVENT_PREFIX: dict[SuppressionKind, str] = {
    SuppressionKind.OPT_OUT: "opt_out",
    SuppressionKind.DO_NOT_CALL: "dnc",
}


def hash_key() -> bytes:
    """The HMAC key; the migration that created the table reads the same two settings."""
    key = current_app.config.get("SUPPRESSION_HASH_KEY") or current_app.config["SECRET_KEY"]
    if not key:
        raise RuntimeError("SUPPRESSION_HASH_KEY (or SECRET_KEY) must be set")
    return str(key).encode()


def number_hash(number: str) -> str:
    """The keyed hash (64 hex digits) that stands for ``number`` in tables and audit rows.

    Of the number's one written form (``core.phones``): "+1 415 555 0123", "14155550123"
    and "+14155550123" are one entry.
    """
    return hmac.new(hash_key(), canonical(number).encode(), hashlib.sha256).hexdigest()


def held(number: str) -> dict[SuppressionKind, datetime]:
    """The suppressions on ``number`` and when each began."""
    rows = db.session.execute(
        db.select(Suppression.kind, Suppression.created_at).where(
            Suppression.number_hash == number_hash(number)
        )
    ).all()
    return {kind: at for kind, at in rows}


def suppression_reason(number: str) -> str | None:
    """Why ``number`` (E.164) must not be surveyed or called: "opted_out", "do_not_call" or None.

    Do-not-call wins over an opt-out because it admits no exception, while a caller who
    opted out may still get a callback they asked for in the same call.
    """
    kinds = held(number)
    for kind in (SuppressionKind.DO_NOT_CALL, SuppressionKind.OPT_OUT):
        if kind in kinds:
            return REASONS[kind]
    return None


def _mirror(number: str, kind: SuppressionKind, at: datetime | None) -> None:
    """Keep the contact's own timestamps (what the flows and pages read) in step."""
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == canonical(number)))
    if contact is None:
        return
    field = "opted_out_at" if kind is SuppressionKind.OPT_OUT else "do_not_call_at"
    if at is None:
        setattr(contact, field, None)
    elif getattr(contact, field) is None:
        setattr(contact, field, at)


def add(number: str, kind: SuppressionKind | str, source: str, actor: int | None = None) -> bool:
    """Suppress ``number``; True if it is new, False if it was already there (idempotent).

    Audited as ``opt_out.added`` / ``dnc.added`` with the hash, the kind, the source and the acting
    user (None: the caller themself, or an integration), never the number.
    """
    kind = SuppressionKind(kind)
    digest = number_hash(number)
    now = utcnow()
    row = Suppression(
        number_hash=digest, kind=kind, source=source[:32], created_at=now, created_by_id=actor
    )
    stored = events.insert_or_get(
        row, and_(Suppression.number_hash == digest, Suppression.kind == kind)
    )
    _mirror(number, kind, stored.created_at)
    if stored is not row:
        return False
    events.record(
        f"{EVENT_PREFIX[kind]}.added",
        user_id=actor,
        data={"kind": kind.value, "number_hash": digest, "source": source},
    )
    return True


def remove(number: str, kind: SuppressionKind | str, source: str, actor: int | None = None) -> bool:
    """Lift a suppression; True if there was one. Audited as ``opt_out``/``dnc.removed``."""
    kind = SuppressionKind(kind)
    digest = number_hash(number)
    row = db.session.scalar(
        db.select(Suppression)
        .where(Suppression.number_hash == digest)
        .where(Suppression.kind == kind)
    )
    _mirror(number, kind, None)
    if row is None:
        return False
    db.session.delete(row)
    events.record(
        f"{EVENT_PREFIX[kind]}.removed",
        user_id=actor,
        data={"kind": kind.value, "number_hash": digest, "source": source},
    )
    return True
