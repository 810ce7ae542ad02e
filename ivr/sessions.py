"""The call's session row and the survey version it is pinned to."""

from __future__ import annotations

import logging

from flask import current_app

from core import contacts, events
from core.db import db, utcnow
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
    if session.status.rank < CallStatus.IN_PROGRESS.rank:
        session.status = CallStatus.IN_PROGRESS
    if session.answered_at is None:
        session.answered_at = utcnow()
    if session.outcome is SurveyOutcome.NOT_STARTED:
        session.outcome = SurveyOutcome.IN_PROGRESS
    return session


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
