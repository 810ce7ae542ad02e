"""The callback a caller was promised, and the one schedule rule both sides read.

A caller who asked for a person hears by when to expect the call ("by 4:15 PM today") at the
"when" turn (``ivr.person``), but the task is opened later: when the call ends, or when the
job runs (``CALLBACK_EVALUATE_INLINE=false``). Timed from those later moments, 20:00 in the
callee's zone (an hour's SLA before the calling window closes) or a five-minute mark falling
in between would move the task past what the caller heard. So the moment of the promise is
recorded on the session (``callback_promised_at``, the earliest if it is said twice) and the
task is scheduled from it, with an SLA no longer than the promised one: its deadline never
falls after the spoken promise, however late the call ends or the evaluation runs.
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


def record(session: CallSession, now: datetime) -> datetime:
    """Note that the promise was said at ``now``; a repeat keeps the first (earlier) one."""
    if session.callback_promised_at is None or now < session.callback_promised_at:
        session.callback_promised_at = now
    return session.callback_promised_at


def schedule(
    session: CallSession, contact: Contact | None, priority: int, now: datetime
) -> tuple[datetime, datetime]:
    """(scheduled_for, due_at) of the session's task, in UTC.

    Timed from the end of the call (never from after ``now``); with a promise, each end is
    also never later than the promise's own: the deadline never falls after what the caller
    heard, and a reason found after the promise (distress in the comment, with its shorter
    SLA) is timed from when it could be known, not from the promise, so the task is not
    opened already overdue.
    """

    def timed(start: datetime, minutes: int) -> tuple[datetime, datetime]:
        return hours.schedule(
            min(start, now),
            sla_minutes=minutes,
            tz=zone(callee(session, contact)[1]),
            window=window(),
            preference=session.callback_preference,
        )

    made = session.callback_promised_at
    own = timed(session.ended_at or made or now, sla_minutes(priority))
    if made is None:
        return own
    kept = timed(made, sla_minutes(PROMISED))
    return min(own[0], kept[0]), min(own[1], kept[1])


def promised(session: CallSession) -> tuple[datetime, datetime]:
    """(from, by) as the caller hears it: the task's window for the promised priority, its
    end rounded up to five minutes (a later promise than the deadline, never earlier)."""
    made = session.callback_promised_at
    if made is None:
        raise ValueError(f"session {session.id} was promised no callback")
    start, due = schedule(session, session.contact, PROMISED, made)
    past_hour = due - due.replace(minute=0, second=0, microsecond=0)
    return start, due + (-past_hour % ROUND_UP)
