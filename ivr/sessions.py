"""The call's session row and the survey version it is pinned to."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import and_, case, func, update

from core import contacts, events
from core.db import bound, db, utcnow
from core.models import (
    CallSession,
    CallStatus,
    Survey,
    SurveyOutcome,
    SurveyVersion,
)
from ivr.turn import CallInput

log = logging.getLogger(__name__)


class SurveyUnavailable(Exception):
    """No survey with an active version matches the request."""


def resolve_version(slug: str | None) -> SurveyVersion:
    survey = db.session.scalar(
        db.select(Survey).where(Survey.slug == (slug or current_app.config["DEFAULT_SURVEY"]))
    )
    if survey is None or survey.active_version is None:
        raise SurveyUnavailable(slug or current_app.config["DEFAULT_SURVEY"])
    return survey.active_version


def is_set_up(
    version_id: int | None,
    contact_id: int | None,
    status: CallStatus,
    answered_at: object,
    outcome: SurveyOutcome,
) -> bool:
    """Whether ``load_session`` would leave a session with these values as it is: version
    pinned, contact linked, answered and under way (``ivr.hot_path`` reads the columns)."""
    return (
        version_id is not None
        and contact_id is not None
        and status.rank >= CallStatus.IN_PROGRESS.rank
        and answered_at is not None
        and outcome is not SurveyOutcome.NOT_STARTED
    )


def load_session(inp: CallInput) -> CallSession:
    """Find or create the call's session; pin the survey version on first sight."""
    session = ensure_session(inp.call_sid, inp.from_number, inp.to_number, inp.direction)
    if session.survey_version_id is None:  # the id: reading the relationship would load it
        session.survey_version = resolve_version(inp.args.get("survey"))
    if session.contact is None:
        session.contact = contacts.get_or_create(session.customer_number)
    if (
        session.status.rank < CallStatus.IN_PROGRESS.rank
        or session.answered_at is None
        or session.outcome is SurveyOutcome.NOT_STARTED
    ):  # values only move forward: a copy that is past this has a row past it too
        _mark_answered(session)
    return session


def _mark_answered(session: CallSession) -> None:
    """A survey turn means the call was answered: one conditional UPDATE moves the status
    and the survey forward against the row as written, never the copy read before, so a
    status callback that ended the call meanwhile is not undone (the call stays over, its
    survey not reopened)."""
    status, outcome = CallSession.status, CallSession.outcome
    earlier = [s for s in CallStatus if s.rank < CallStatus.IN_PROGRESS.rank]
    over = [s for s in CallStatus if s.is_final]
    db.session.execute(
        update(CallSession)
        .where(CallSession.id == session.id)
        .values(
            status=case((status.in_(earlier), bound(CallStatus.IN_PROGRESS, status)), else_=status),
            answered_at=func.coalesce(
                CallSession.answered_at, bound(utcnow(), CallSession.answered_at)
            ),
            outcome=case(
                (
                    and_(outcome == SurveyOutcome.NOT_STARTED, status.not_in(over)),
                    bound(SurveyOutcome.IN_PROGRESS, outcome),
                ),
                else_=outcome,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(session, ["status", "answered_at", "outcome"])


def ensure_session(
    call_sid: str, from_number: str, to_number: str, direction: str, **values: object
) -> CallSession:
    """The session row for a CallSid, created at most once even under concurrent webhooks."""
    existing = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == call_sid))
    if existing is not None:
        return existing
    session = CallSession(
        call_sid=call_sid,
        from_number=from_number,
        to_number=to_number,
        direction=direction or "inbound",
        **values,
    )
    return events.insert_or_get(session, CallSession.call_sid == call_sid)
