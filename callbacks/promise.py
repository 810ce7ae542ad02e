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
The task is never due after that window's end, and a repeated "when" turn says it again; a
"when" turn with another choice is a new promise, the one kept (``record``).
Sessions from before the window was kept are capped by it worked out again from the moment.

A task opened after the promised deadline (the evaluation ran late, after an outage) is due
at that deadline, already past: it heads the queue overdue and escalates at once, and the
miss is recorded (``callback.promise_missed``), rather than being timed quietly later.

Whether the promise was kept (``keeping``) is one rule for every page and message that says
so: the call page, the agent's task page and the escalation message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from callbacks.models import CallbackTask, Priority, TaskState
from callbacks.policy import reached, sla_minutes, window, zone
from core import hours, reachability
from core.db import db
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


def record(
    session: CallSession, now: datetime, choice: str | None = None
) -> tuple[datetime, datetime]:
    """Promise the callback at ``now`` for the time the caller chose (``choice``, kept as
    their preference): (from, by) as the caller hears it, kept on the session.

    Said again for the same choice (a repeated "when" webhook), the first promise stands,
    word for word. Another choice is the caller changing their mind: a new promise made at
    ``now`` replaces the first, sooner or later than it, as a later call's does on a merged
    task (``of_task``): what they heard last is what the task keeps.
    """
    if choice is not None and choice != session.callback_preference:
        session.callback_preference = choice
        session.callback_promised_at = now
        session.callback_promised_from = session.callback_promised_by = None
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


def _clock(at: datetime) -> str:
    """ "8 AM", "3:45 PM": how the time is said."""
    minutes = f":{at.minute:02d}" if at.minute else ""
    return f"{at.hour % 12 or 12}{minutes} {'AM' if at.hour < 12 else 'PM'}"


def _day(at: datetime, today: datetime) -> str:
    days = (at.date() - today.date()).days
    if days in (0, 1):
        return "today" if days == 0 else "tomorrow"
    return f"on {at:%A}" if 1 < days < 7 else f"on {at:%a} {at.day} {at:%b}"


def moment(at: datetime, zone_name: str, today: datetime) -> str:
    """ "10:40 AM today", "9 PM on Mon 2 Jun": a moment in the caller's time, for pages."""
    tz = reachability.zone(zone_name)
    local = at.astimezone(tz)
    return f"{_clock(local)} {_day(local, today.astimezone(tz))}"


def said(session: CallSession, today: datetime | None = None) -> str:
    """The promise in the callee's time, as said on the call ("by 4:15 PM today", "tomorrow
    between 8 AM and 9 AM"), or with its days counted from ``today`` (read later, a past
    day is named with its date)."""
    start, due = promised(session)
    made = session.callback_promised_at or start
    tz = reachability.zone(callee(session, session.contact)[1])
    today_ = (today or made).astimezone(tz)
    first, last = start.astimezone(tz), due.astimezone(tz)
    if start <= made + timedelta(minutes=1):
        return f"by {_clock(last)} {_day(last, today_)}"
    if first.date() == last.date():
        return f"{_day(first, today_)} between {_clock(first)} and {_clock(last)}"
    return f"between {_clock(first)} {_day(first, today_)} and {_clock(last)} {_day(last, today_)}"


def span(delta: timedelta) -> str:
    """ "40 min", "2 h", "2 h 5 min", "3 days 1 h": how late, to the minute."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{rest // 60} h"] if rest >= 60 else []
    parts += [f"{rest % 60} min"] if rest % 60 or not parts else []
    return " ".join(parts[:2])


class Call(Protocol):
    """A callback attempt as read here: a ``CallbackAttempt`` or a ``links.Attempt``."""

    @property
    def status(self) -> str: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def answered_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Keeping:
    """Whether a callback reached the caller by the time they heard."""

    said: str  # the promise in the caller's time ("by 4:15 PM today")
    by: datetime  # its deadline, as heard (UTC)
    zone: str  # the caller's zone, to say times in
    reached_at: datetime | None  # when a callback since the promise first reached them
    kept: bool | None  # None: nobody reached them yet, and the deadline is still to come
    # Kept by the task's last call, whose outcome the agent has not recorded yet: its leg
    # answered, but it may have been voicemail (``callbacks.unrecorded``).
    pending: bool = False

    @property
    def verdict(self) -> str:
        """ "Promise kept: reached at 4:02 PM", "Promise missed by 2 h: reached at 6:15 PM",
        "Promise missed: not reached by then", "" while still to come."""
        if self.kept is None:
            return ""
        if self.reached_at is None:
            return "Promise missed: not reached by then"
        tz = reachability.zone(self.zone)
        at, by = self.reached_at.astimezone(tz), self.by.astimezone(tz)
        when = _clock(at) if at.date() == by.date() else f"{_clock(at)} on {at:%a} {at.day} {at:%b}"
        if self.kept and self.pending:
            return (
                f"Promise kept only if the call answered at {when} reached the caller: "
                "no outcome recorded yet"
            )
        if self.kept:
            return f"Promise kept: reached at {when}"
        return f"Promise missed by {span(self.reached_at - self.by)}: reached at {when}"


def keeping(
    session: CallSession, calls: Iterable[Call], now: datetime, *, awaiting: bool = False
) -> Keeping | None:
    """Was the callback promised on this call kept by ``calls`` (its task's attempts)? None
    when nothing was promised.

    Kept when a call placed since the promise reached the caller (``policy.reached``: their
    leg answered, and it was not voicemail) by the deadline they heard; broken when one
    reached them only after it, or when the deadline passed with none. A ring they did not
    answer, or a message left, keeps nothing: they were promised someone to talk to, and the
    task retries too. A task first judged late (``callback.promise_missed``) can only be
    reached late, so it reads as broken here too.

    ``awaiting``: the task waits on the agent's outcome for its last call (it is
    ``completed``); a promise only that call kept is said to be kept only if it reached them.
    """
    calls = list(calls)
    found = _reached_by(session, calls, now)
    if found is None:
        return None
    by, first, verdict = found
    zone_name = callee(session, session.contact)[1]
    last = calls[-1] if calls else None
    pending = (
        awaiting
        and last is not None
        and last.outcome is None
        and first is not None
        and first == (last.answered_at or last.created_at)
    )
    return Keeping(said(session, now), by, zone_name, first, verdict, bool(pending))


def was_kept(session: CallSession, calls: Iterable[Call], now: datetime) -> bool | None:
    """``keeping``'s verdict alone (None also when nothing was promised), for counting
    many calls without saying each promise in words."""
    found = _reached_by(session, calls, now)
    return None if found is None else found[2]


def _reached_by(
    session: CallSession, calls: Iterable[Call], now: datetime
) -> tuple[datetime, datetime | None, bool | None] | None:
    """(deadline heard, first reached since the promise, kept) or None: no promise."""
    if kept(session) is None:
        return None
    by = promised(session)[1]
    made = session.callback_promised_at
    times = (c.answered_at or c.created_at for c in calls if reached(c.status, c.outcome))
    first = min((t for t in times if t is not None and (made is None or t >= made)), default=None)
    return by, first, first <= by if first is not None else (False if now > by else None)


def _heard(task: CallbackTask, sessions: Iterable[CallSession] | None) -> list[CallSession]:
    """The task's calls that promised a callback (``sessions``: those a viewer may see; all
    of them by default), in the order the caller heard the promises."""
    if sessions is None:
        ids = sorted(task.session_ids)
        sessions = db.session.scalars(db.select(CallSession).where(CallSession.id.in_(ids)))
    heard = [s for s in sessions if kept(s) is not None]
    return sorted(heard, key=lambda s: (_made(s), s.id))


def _made(session: CallSession) -> datetime:
    return session.callback_promised_at or promised(session)[0]


def of_task(
    task: CallbackTask, now: datetime, sessions: Iterable[CallSession] | None = None
) -> Keeping | None:
    """The promise the caller heard last among the task's calls, kept or not by the task's
    attempts.

    A task merged from several calls carries each call's promise; the last one said is the
    one in force (the caller was told it most recently, whether it came sooner or later than
    the one before), so it is missed when nobody reached the caller by its deadline.
    """
    heard = _heard(task, sessions)
    return keeping(heard[-1], task.attempts, now, awaiting=_awaiting(task)) if heard else None


def _awaiting(task: CallbackTask) -> bool:
    """The task waits on the agent's outcome for its last call."""
    return task.state is TaskState.COMPLETED


@dataclass(frozen=True)
class Made:
    """One promise among a task's calls, as the task's pages list them (newest first)."""

    session_id: int
    at: datetime  # when the caller heard it (UTC)
    when: str  # that moment in the caller's time ("10:02 AM today")
    keeping: Keeping
    status: str  # kept, missed, open (still to come), or replaced (see ``every``)

    @property
    def says(self) -> str:
        """ "Kept: reached at 10:40 AM", "Missed: not reached by then", "Open: …"."""
        if self.status == "replaced":
            return "Replaced by a later promise before its time"
        if self.status == "open":
            return "Open: nobody reached yet, and its time is still to come"
        verdict = self.keeping.verdict.removeprefix("Promise ")
        return verdict[:1].upper() + verdict[1:]


def every(
    task: CallbackTask, now: datetime, sessions: Iterable[CallSession] | None = None
) -> list[Made]:
    """Every promise among the task's calls (``sessions``: those a viewer may see), newest
    first: kept, missed, open, or replaced, when the caller was told another before its
    deadline with nobody reached by then (not missed: ``broken`` reads it so too)."""
    heard = _heard(task, sessions)
    made: list[Made] = []
    for session, after in zip(heard, [*heard[1:], None][: len(heard)], strict=True):
        found = keeping(session, task.attempts, now, awaiting=_awaiting(task))
        assert found is not None  # _heard keeps only sessions that promised
        status = {True: "kept", False: "missed", None: "open"}[found.kept]
        if after is not None and found.kept is not True and found.by >= _made(after):
            status = "replaced"
        at = _made(session)
        made.append(Made(session.id, at, moment(at, found.zone, now), found, status))
    return made[::-1]


def due_in_force(task: CallbackTask, now: datetime) -> datetime | None:
    """The deadline the task keeps for the promise in force (``kept``: before ``promised``
    rounds it up to be said), while nobody has reached the caller and it is still to come."""
    heard = _heard(task, None)
    found = keeping(heard[-1], task.attempts, now) if heard else None
    window = kept(heard[-1]) if found is not None and found.kept is None else None
    return window[1] if window is not None else None


def broken(
    task: CallbackTask, now: datetime, sessions: Iterable[CallSession] | None = None
) -> Keeping | None:
    """The first promise among the task's calls that was missed while it was in force: its
    deadline passed, with nobody reached by it, before the caller was told another (the last
    one: before ``now``). A promise replaced before its deadline was not missed."""
    heard = _heard(task, sessions)
    for session, after in zip(heard, [*heard[1:], None], strict=True):
        found = keeping(session, task.attempts, now)
        if found is not None and found.kept is False and (after is None or found.by < _made(after)):
            return found
    return None
