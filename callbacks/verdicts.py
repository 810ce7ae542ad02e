"""Surveys the callback rules must judge again: told of them, then more was stored.

A turn that stores what the rules read (an answer, a person asked for, a callback accepted,
its number or its time) after a hang-up ended the survey and told them, tells them again.
So that a retelling that fails (the rules run as a job and Redis is down, or the process
dies) is not lost, the turn's own write marks the session, decided on the row as written
(``owe``: ``CallSession.retell_owed_at``); the verdict that read the session after the mark
clears it (``settle``), and the sweep judges again the surveys still marked (``owed``).
Evaluation is idempotent, so a survey judged again opens no second task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, case, literal_column, or_, update

from core.db import db
from core.models import CallSession, CallStatus, SurveyOutcome

# The event that marks a session judged (the sweep looks for sessions without one).
EVALUATED = "callback.evaluated"


def _constant(value: str) -> ColumnElement[str]:
    # Written into the SQL: a statement compiled once (``core.prepared``) takes no value for
    # it. Only the enums' own values, none with a quote.
    return literal_column(f"'{value}'")


def told() -> ColumnElement[bool]:
    """For the session row as written: the rules were told of the survey already (the
    goodbye completed it, or the call ended with it partial; ``ivr.lifecycle``)."""
    final = [_constant(status.value) for status in CallStatus if status.is_final]
    return or_(
        CallSession.outcome == _constant(SurveyOutcome.COMPLETED.value),
        and_(
            CallSession.outcome == _constant(SurveyOutcome.PARTIAL.value),
            CallSession.status.in_(final),
        ),
    )


def owe(now: datetime | BindParameter[Any]) -> ColumnElement[Any]:
    """The mark's new value, for the UPDATE of the session row by a turn that stored what the
    rules read: ``now`` if they were told of the survey before it, else left as it is."""
    return case((told(), now), else_=CallSession.retell_owed_at)


def owed() -> ColumnElement[bool]:
    """For the ``CallSession`` row of the query: a retelling owed and not yet judged."""
    return CallSession.retell_owed_at.is_not(None)


def settle(session_id: int, mark: datetime) -> None:
    """In the verdict's transaction: the retelling marked ``mark``, read by it, is done (a
    later turn's mark is left for the next verdict)."""
    db.session.execute(
        update(CallSession)
        .where(CallSession.id == session_id)
        .where(CallSession.retell_owed_at == mark)
        .values(retell_owed_at=None)
        .execution_options(synchronize_session=False)
    )
