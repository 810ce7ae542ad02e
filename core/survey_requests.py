"""Surveys (calls or texts) asked for outside the callee's calling hours, kept until the
window opens.

A row is the promise "we will ring this number at ``scheduled_for``, if we still may":
``ivr.outbound`` writes it, the ``place_survey_request`` job (scheduled at that moment, with
the survey sweep as its safety net) places it. The row lives apart from ``core.models`` only
to keep that module readable.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class RequestStatus(enum.StrEnum):
    """Forward only: scheduled -> dialing -> placed | refused | failed (dialing may go back
    to scheduled when the job runs outside calling hours)."""

    SCHEDULED = "scheduled"  # waiting for the callee's calling hours
    DIALING = "dialing"  # a job claimed it; Twilio is being asked
    PLACED = "placed"
    REFUSED = "refused"  # a check at dial time said no (do-not-call, opt-out, cap, policy)
    FAILED = "failed"  # Twilio refused, or the survey is gone


PENDING = (RequestStatus.SCHEDULED, RequestStatus.DIALING)


class SurveyRequest(db.Model):  # type: ignore[name-defined]
    """One outbound survey (call or text) waiting for the callee's calling hours."""

    __tablename__ = "survey_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_number: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    survey_slug: Mapped[str] = mapped_column(String(64))  # its active version when dialled
    # "voice": a call; "sms": a text survey (``texts.survey``), started the same way.
    channel: Mapped[str] = mapped_column(String(8), default="voice", server_default="voice")
    status: Mapped[RequestStatus] = mapped_column(
        Enum(
            RequestStatus,
            name="survey_request_status",
            values_callable=lambda e: [m.value for m in e],
            native_enum=False,
            create_constraint=True,
            length=24,
        ),
        default=RequestStatus.SCHEDULED,
        index=True,
    )
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was refused or failed
    session_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dialing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def pending_for(number: str, *, besides: int | None = None) -> SurveyRequest | None:
    """The number's scheduled (or dialing) request, other than ``besides``."""
    query = (
        db.select(SurveyRequest)
        .where(SurveyRequest.to_number == number)
        .where(SurveyRequest.status.in_(PENDING))
        .order_by(SurveyRequest.scheduled_for)
    )
    if besides is not None:
        query = query.where(SurveyRequest.id != besides)
    return db.session.scalars(query.limit(1)).first()


def job_id(request: SurveyRequest) -> str:
    """The request's pending job. A rescheduled request gets a new id, even for the same
    opening (a worker whose clock runs a second early), so the job that reschedules it
    never overwrites itself."""
    key = f"survey-request-{request.id}-{int(request.scheduled_for.timestamp())}"
    if request.dialing_at is not None:
        key += f"-{int(request.dialing_at.timestamp() * 1000)}"
    return key


def erase(numbers: set[str]) -> int:
    """ "Delete this caller's data": their survey requests go, pending ones included (a
    survey nobody may place any more, since we no longer hold the number). The count."""
    rows = db.session.scalars(db.select(SurveyRequest).where(SurveyRequest.to_number.in_(numbers)))
    erased = 0
    for request in rows:
        db.session.delete(request)
        erased += 1
    return erased
