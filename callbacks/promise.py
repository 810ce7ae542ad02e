"""The callback a caller was promised, and the one schedule rule both sides read.

A caller who asked for a person hears by when to expect the call ("by 4:15 PM today") at the
"when" turn (``ivr.person``), but the task is opened later: when the call ends, or when the
job runs (``CALLBACK_EVALUATE_INLINE=false``). Timed from those later moments, 20:00 in the
callee's zone (an hour's SLA before the calling window closes) or a five-minute mark falling
in between would move the task past what the caller heard; and worked out again from the
settings of that later moment (an SLA or ``CALLING_HOURS`` edited, another zone for the
number after a deploy), so would the promise itself. So what the caller heard is kept on the
session when it is said, the first time only: the moment (``callback_promised_at``) and the
window (``callback_promised_from`` / ``callback_promised_by``, heard with its end rounded up).
The task is never due after that window's end, and a repeated "when" turn says it again.
Sessions from before the window was kept are capped by it worked out again from the moment.

A task opened after the promised deadline (the evaluation ran late, after an outage) is due
at that deadline, already past: it heads the queue overdue and escalates at once, and the
miss is recorded (``callback.promise_missed``), rather than being timed quietly later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from callbacks.models import Priority
from callbacks.policy import sla_minutes, window, zone
from core import hours, reachability
from core.models import CallSession, Contact

PROMISED = Priority.HIGH  # what asking for a person opens (``callbacks.rules``)
ROUND_UP = timedelta(minutes=5)  # "by 4:15 PM", not "by 4:13 PM"


def callee(session: CallSession, contact: Contact | None) -> tuple[str, str]:
    """The number the callback rings and the name of the zone it is timed in."""
    phone = (
        session.callback_number
        or (contact and contact.callback_phone)
        or (contact.phone if contact else session.customer_number)
    )
    return phone, reachability.callee_zone(phone, contact.timezone if contact else None).key


def record(session: CallSession, now: datetime) -> tuple[datetime, datetime]:
    """Promise the callback at ``now``: (from, by) as the caller hears it, kept on the session.

    Said again (a repeated "when" webhook), the first promise stands, word for word.
    """
    if session.callback_promised_by is None:
        if session.callback_promised_at is None or now < session.callback_promised_at:
            session.callback_promised_at = now
        start, due = _worked_out(session, session.callback_promised_at)
        session.callback_promised_from, session.callback_promised_by = start, due
    return promised(session)


def _timed(
    session: CallSession, contact: Contact | None, start: datetime, minutes: int, now: datetime
) -> tuple[datetime, datetime]:
    return hours.schedule(
        min(start, now),
        sla_minutes=minutes,
        tz=zone(callee(session, contact)[1]),
        window=window(),
        preference=session.callback_preference,
    )


def _worked_out(session: CallSession, made: datetime) -> tuple[datetime, datetime]:
    """The promise's window from the moment it was made, by today's settings."""
    return _timed(session, session.contact, made, sla_minutes(PROMISED), made)


def kept(session: CallSession) -> tuple[datetime, datetime] | None:
    """(from, by) the task must keep: the window kept when it was said; for a session from
    before it was kept, worked out again from the moment; None when nothing was promised."""
    start, due = session.callback_promised_from, session.callback_promised_by
    if start is not None and due is not None:
        return start, due
    made = session.callback_promised_at
    return None if made is None else _worked_out(session, made)


def schedule(
    session: CallSession, contact: Contact | None, priority: int, now: datetime
) -> tuple[datetime, datetime]:
    """(scheduled_for, due_at) of the session's task, in UTC.

    Timed from the end of the call (never from after ``now``); with a promise, each end is
    also never later than the promise's own (``kept``): the deadline never falls after what
    the caller heard, and a reason found after the promise (distress in the comment, with its
    shorter SLA) is timed from when it could be known, not from the promise, so the task is
    not opened already overdue.
    """
    made = session.callback_promised_at
    own = _timed(session, contact, session.ended_at or made or now, sla_minutes(priority), now)
    promise = kept(session)
    if promise is None:
        return own
    return min(own[0], promise[0]), min(own[1], promise[1])


def missed(session: CallSession, now: datetime) -> datetime | None:
    """The deadline the caller heard, if it had passed by ``now``."""
    if kept(session) is None:
        return None
    heard = promised(session)[1]
    return heard if heard < now else None


def promised(session: CallSession) -> tuple[datetime, datetime]:
    """(from, by) as the caller hears it: the promise's window, its end rounded up to five
    minutes (a later promise than the deadline, never earlier)."""
    promise = kept(session)
    if promise is None:
        raise ValueError(f"session {session.id} was promised no callback")
    start, due = promise
    past_hour = due - due.replace(minute=0, second=0, microsecond=0)
    return start, due + (-past_hour % ROUND_UP)
