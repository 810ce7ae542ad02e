"""Outbound survey calls: asked for through the API, placed only when the callee may be called.

``request_survey_call`` is what ``POST /api/surveys/calls`` does. It asks the one gate
(``core.reachability``) and either rings now, refuses with the reason (do-not-call,
opt-out, dialling policy, the frequency cap), or, outside the callee's calling hours, keeps
a ``SurveyRequest`` for the next opening: committed first, then the ``place_survey_request``
job is scheduled for that moment, with ``sweep`` (every minute) as the safety net.

When the job runs it asks the gate again, since a number can be put on the do-not-call list
or opt out overnight: a refusal then ends the request, never the caller's sleep.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update
from twilio.base.exceptions import TwilioRestException

from core import contacts, events, queues, reachability
from core.db import db, utcnow
from core.models import CallSession, SurveyVersion
from core.survey_requests import RequestStatus, SurveyRequest, job_id
from core.twilio_rest import public_url, twilio_client
from ivr import sessions
from ivr.turn import step_url
from texts import consent as text_consent
from texts import survey as text_survey

log = logging.getLogger(__name__)

R = RequestStatus
# Refusals waiting cannot cure; the rest of the codes are 409 (the number's state).
POLICY_REFUSALS = frozenset({"premium_rate", "special_number", "country_not_allowed"})
SWEEP_GRACE = timedelta(minutes=1)  # the scheduled job goes first
STALE_DIALING = timedelta(minutes=10)  # a job that died between claim and Twilio's answer


class CallRefused(Exception):
    """The call must not be placed; ``code`` is machine-readable, the message is for people."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def request_survey_call(
    to: str,
    survey_slug: str | None = None,
    *,
    now: datetime | None = None,
    texts_consent: str | None = None,
) -> CallSession | SurveyRequest:
    """Ring ``to`` now (a session), or keep the request for the callee's next opening.

    ``texts_consent``: the source of the customer's permission to be texted (a CRM's
    record), kept once the call is accepted (not for a refused one: a stale CRM flag must
    not undo an opt-out).

    Raises:
        CallRefused: the number is invalid or refused, the survey unknown, or Twilio said no.
    """
    now = now or utcnow()
    number = _e164(to)
    version = _version(survey_slug)
    refusal = reachability.check(number, channel=reachability.Channel.SURVEY, now=now)
    if refusal is not None and refusal.retry_at is None:
        status = 422 if refusal.code in POLICY_REFUSALS else 409
        raise CallRefused(refusal.code, refusal.message, status)
    if texts_consent:
        text_consent.grant(contacts.get_or_create(number), texts_consent)
        db.session.commit()
    if refusal is None:
        return dial(number, version)
    assert refusal.retry_at is not None  # refused outright above
    return schedule(number, version.survey.slug, refusal.retry_at)


def _e164(to: str) -> str:
    try:
        return contacts.to_e164(to)
    except contacts.InvalidNumber as exc:
        raise CallRefused("invalid_number", str(exc), status=400) from exc


def _version(slug: str | None) -> SurveyVersion:
    try:
        return sessions.resolve_version(slug)
    except sessions.SurveyUnavailable as exc:
        raise CallRefused("unknown_survey", f"no active survey named {exc}", status=404) from exc


def dial(number: str, version: SurveyVersion) -> CallSession:
    """Ask Twilio to ring ``number`` with the survey; the caller has checked the gate."""
    slug = version.survey.slug
    try:
        call = twilio_client().calls.create(
            to=number,
            from_=current_app.config["TWILIO_PHONE_NUMBER"],
            url=public_url(step_url("start", {"survey": slug})),
            method="POST",
            fallback_url=public_url("/twilio/voice/fallback"),
            status_callback=public_url("/twilio/voice/status"),
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            status_callback_method="POST",
        )
    except TwilioRestException as exc:
        raise CallRefused(
            "twilio_error", f"Twilio refused the call: {exc.msg}", status=502
        ) from exc
    session = sessions.ensure_session(
        call.sid or "", current_app.config["TWILIO_PHONE_NUMBER"], number, "outbound-api"
    )
    if session.survey_version_id is None:
        session.survey_version = version
    if session.contact is None:
        session.contact = contacts.get_or_create(number)
    events.record("call.placed", session=session, data={"survey": slug})
    db.session.commit()
    return session


# --- requests waiting for calling hours ---------------------------------------------------


def schedule(number: str, slug: str, at: datetime) -> SurveyRequest:
    """Keep the request, commit, then schedule its job at ``at`` (the sweep if Redis is out)."""
    request = SurveyRequest(to_number=number, survey_slug=slug, scheduled_for=at)
    db.session.add(request)
    db.session.flush()
    events.record("survey.scheduled", data={"request_id": request.id, "at": at.isoformat()})
    db.session.commit()
    _enqueue(request, at)
    return request


def _enqueue(request: SurveyRequest, at: datetime | None) -> None:
    try:
        queues.enqueue("place_survey_request", request.id, job_id=job_id(request), at=at)
    except RedisError:
        log.exception("could not schedule survey request %s; the sweep will", request.id)


def place_scheduled(request_id: int, now: datetime | None = None) -> str:
    """The job: ring the number of a scheduled request if the gate still allows it.

    Safe to run twice (the job and the sweep): a conditional UPDATE lets one run claim it.
    Outside calling hours (a late or early run) it goes back to wait for the next opening;
    any other refusal ends it, with the reason.
    """
    now = now or utcnow()
    claimed = db.session.execute(
        update(SurveyRequest)
        .where(SurveyRequest.id == request_id)
        .where(SurveyRequest.status == R.SCHEDULED)
        .values(status=R.DIALING, dialing_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    request = db.session.get(SurveyRequest, request_id)
    if request is None:
        return "missing"
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return request.status.value
    if request.channel == text_survey.CHANNEL:
        refusal = text_survey.gate(request.to_number, now, request_id=request.id)
    else:
        refusal = reachability.check(
            request.to_number, channel=reachability.Channel.SURVEY, now=now, request_id=request.id
        )
    if refusal is not None and refusal.retry_at is not None:
        request.status, request.scheduled_for = R.SCHEDULED, refusal.retry_at
        db.session.commit()
        _enqueue(request, refusal.retry_at)
        return "rescheduled"
    if refusal is not None:
        return _end(request, R.REFUSED, refusal.code, refusal.message)
    try:
        session = _place(request, now)
    except CallRefused as exc:
        return _end(request, R.FAILED, exc.code, str(exc))
    request.status, request.session_id = R.PLACED, session.id
    events.record("survey.placed", session=session, data={"request_id": request.id})
    db.session.commit()
    return R.PLACED.value


def _place(request: SurveyRequest, now: datetime) -> CallSession:
    """Ring the number, or text it the survey's first question (channel sms)."""
    version = _version(request.survey_slug)
    if request.channel != text_survey.CHANNEL:
        return dial(request.to_number, version)
    try:
        return text_survey.begin(request.to_number, version, now)
    except text_survey.TextRefused as exc:
        raise CallRefused(exc.code, str(exc), exc.status) from exc


def _end(request: SurveyRequest, status: RequestStatus, code: str, message: str) -> str:
    db.session.rollback()  # nothing half-done from the failed step is kept
    request.status, request.reason = status, f"{code}: {message}"
    events.record(f"survey.{status.value}", data={"request_id": request.id, "reason": code})
    db.session.commit()
    log.info("survey request %s %s: %s", request.id, status.value, code)
    return status.value


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Every minute: place due requests whose job is gone; end ones stuck dialing."""
    now = now or utcnow()
    counts = {"placed": 0, "stale": 0}
    due = db.session.scalars(
        db.select(SurveyRequest)
        .where(SurveyRequest.status == R.SCHEDULED)
        .where(SurveyRequest.scheduled_for <= now - SWEEP_GRACE)
        .order_by(SurveyRequest.scheduled_for)
    ).all()
    for request in due:
        if not queues.job_is_pending(job_id(request)):
            counts["placed"] += place_scheduled(request.id, now) == R.PLACED.value
    stuck = db.session.scalars(
        db.select(SurveyRequest)
        .where(SurveyRequest.status == R.DIALING)
        .where(SurveyRequest.dialing_at <= now - STALE_DIALING)
    ).all()
    for request in stuck:
        # Twilio may have rung them: never dialled again, so never twice.
        _end(request, R.FAILED, "unknown", "the job stopped while placing the call")
        counts["stale"] += 1
    return counts
