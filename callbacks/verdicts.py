"""What the callback rules saw of a survey when they judged it.

A turn that stores what the rules read after they were told of the survey (an answer, a
callback accepted, its time, a person asked for, given as the caller hung up) tells them
again. When that fails (the rules run as a job and Redis is down, or the process dies), the
stored turn is not lost: each verdict keeps a summary of the survey as the rules read it
(``seen``: how many answers, and the flags and choice they read), and the sweep judges a
survey again when no verdict saw it as it now is (``stale``). Evaluation is idempotent, so a
survey judged again opens no second task; a verdict that saw the same is not recorded twice.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Exists, String, and_, cast, exists, func, select
from sqlalchemy.orm import Mapped

from core.db import db
from core.models import Answer, CallSession, Event

# The event that marks a session judged (the sweep looks for sessions without one).
EVALUATED = "callback.evaluated"


def summary() -> ColumnElement[str]:
    """The survey as the rules read it, for the ``CallSession`` row of the query: one string
    (each database spells it its own way, and only ever compares it with its own).

    The callback number is left out: an erased caller's is cleared, and nothing new was said.
    """
    # Correlated by name: inside the sweep's EXISTS the enclosing query is not the next one up.
    answers = (
        select(func.count(Answer.id))
        .where(Answer.session_id == CallSession.id)
        .correlate(CallSession)
    )
    said = (
        CallSession.asked_for_human,
        CallSession.transferred,
        CallSession.opted_out,
        CallSession.wants_callback,
        CallSession.callback_preference,
    )
    text: ColumnElement[str] = cast(answers.scalar_subquery(), String)
    for column in said:
        text = text + ":" + func.coalesce(cast(column, String), "")
    return text


def seen_now(session_id: int) -> str | None:
    """The survey's summary as written now (read before the rules read it: a turn stored in
    between is judged by them, and its survey once more by the sweep, never missed)."""
    return db.session.scalar(select(summary()).where(CallSession.id == session_id))


def judged_as(
    session_id: ColumnElement[int] | Mapped[int] | int, seen: ColumnElement[str] | str
) -> Exists:
    """A verdict on the session recorded when it read as ``seen``."""
    return (
        exists()
        .where(Event.session_id == session_id)
        .where(Event.kind == EVALUATED)
        .where(Event.data["seen"].as_string() == seen)
    )


def stale() -> ColumnElement[bool]:
    """For the ``CallSession`` row of the query: judged, but never as it now reads. Verdicts
    from before summaries were kept (none has one) are taken as current."""
    summarised = (
        exists()
        .where(Event.session_id == CallSession.id)
        .where(Event.kind == EVALUATED)
        .where(Event.data["seen"].as_string().is_not(None))
    )
    return and_(summarised, ~judged_as(CallSession.id, summary()))


def already_seen(session_id: int, seen: str) -> bool:
    return bool(db.session.scalar(select(judged_as(session_id, seen))))
