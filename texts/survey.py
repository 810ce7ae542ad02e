"""The text survey: asked for through the API, taken by text, stored like a voice survey.

``start_text_survey`` is what ``POST /api/surveys/texts`` does: the number must have given
permission (``texts.consent``), pass the survey frequency cap and be inside its calling
hours (``core.reachability``); outside them the request is kept (``SurveyRequest``, channel
sms) and ``ivr.outbound.place_scheduled`` starts it at the opening, as for calls.

A text survey is a ``CallSession`` with channel "sms" (no Twilio call; ``call_sid`` holds a
``TX`` key) and its answers are ``Answer`` rows of the same survey version, so the
dashboard, its flags and the callback rules read it as they read a call. The comment is a
``Recording`` row whose transcript is the customer's text (nothing to download or
transcribe): the recording job reads it with the same comment reader and then runs the
callback rules again, exactly as after a spoken comment.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError

from callbacks import evaluation
from core import contacts, events, queues, reachability
from core.db import db, utcnow
from core.models import CallSession, CallStatus, Survey, SurveyOutcome, SurveyVersion
from core.reachability import Refusal
from core.survey_requests import SurveyRequest, job_id
from texts import consent, conversations, wording
from texts.models import Direction, TextConversation, TextMessage
from texts.outbound import send_text

log = logging.getLogger(__name__)

KIND = "survey"
CHANNEL = "sms"
POLICY_REFUSALS = frozenset({"premium_rate", "special_number", "country_not_allowed"})


class TextRefused(Exception):
    """The survey must not be texted; ``code`` for machines, the message for people."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def lasts() -> timedelta:
    """How long a text survey waits for replies before it ends as partial."""
    return timedelta(hours=float(current_app.config["TEXT_SURVEY_HOURS"]))


def gate(number: str, now: datetime, *, request_id: int | None = None) -> Refusal | None:
    """May ``number`` get a text survey now? Permission, then the survey cap, then hours."""
    return (
        consent.refusal(number)
        or reachability.survey_cap_refusal(number, now, request_id=request_id)
        or reachability.hours_refusal(number, now)
    )


def version_for(slug: str | None) -> SurveyVersion:
    name = slug or current_app.config["DEFAULT_SURVEY"]
    survey = db.session.scalar(db.select(Survey).where(Survey.slug == name))
    if survey is None or survey.active_version is None:
        raise TextRefused("unknown_survey", f"no active survey named {name}", 404)
    return survey.active_version


def start_text_survey(
    to: str, survey_slug: str | None = None, *, now: datetime | None = None
) -> CallSession | SurveyRequest:
    """Text the first question now (a session), or keep the request for the callee's hours.

    Raises:
        TextRefused: invalid number (400), unknown survey (404), no permission, opted out,
            do-not-call or surveyed recently (409), a number we never text (422), or
            Twilio refused the text (502).
    """
    now = now or utcnow()
    try:
        number = contacts.to_e164(to)
    except contacts.InvalidNumber as exc:
        raise TextRefused("invalid_number", str(exc), 400) from exc
    version = version_for(survey_slug)
    refusal = gate(number, now)
    if refusal is None:
        return begin(number, version, now)
    if refusal.retry_at is None:
        raise TextRefused(
            refusal.code, refusal.message, 422 if refusal.code in POLICY_REFUSALS else 409
        )
    return schedule(number, version.survey.slug, refusal.retry_at)


def schedule(number: str, slug: str, at: datetime) -> SurveyRequest:
    """Keep the request for ``at``, commit, then schedule the job that starts it."""
    request = SurveyRequest(to_number=number, survey_slug=slug, scheduled_for=at, channel=CHANNEL)
    db.session.add(request)
    db.session.flush()
    events.record(
        "survey.scheduled",
        data={"request_id": request.id, "at": at.isoformat(), "channel": CHANNEL},
    )
    db.session.commit()
    try:
        queues.enqueue("place_survey_request", request.id, job_id=job_id(request), at=at)
    except RedisError:
        log.exception("could not schedule text survey request %s; the sweep will", request.id)
    return request


def _open(
    number: str, version: SurveyVersion, now: datetime, *, trial: bool
) -> tuple[CallSession, TextConversation]:
    """The session (queued, or under way for a trial) and its conversation at the first
    question, flushed: a text survey's start, sent or not."""
    contact = contacts.get_or_create(number)
    session = CallSession(
        call_sid=f"TX{uuid.uuid4().hex}",
        survey_version=version,
        contact=contact,
        from_number=current_app.config["TWILIO_PHONE_NUMBER"],
        to_number=number,
        direction="outbound-api",
        channel=CHANNEL,
        status=CallStatus.IN_PROGRESS if trial else CallStatus.QUEUED,
        outcome=SurveyOutcome.IN_PROGRESS if trial else SurveyOutcome.NOT_STARTED,
        is_test=trial,
        created_at=now,
    )
    db.session.add(session)
    db.session.flush()
    conversation = conversations.open_conversation(
        number,
        KIND,
        lasts=lasts(),
        contact_id=contact.id,
        session_id=session.id,
        step="q:0",
        now=now,
    )
    return session, conversation


def begin(number: str, version: SurveyVersion, now: datetime | None = None) -> CallSession:
    """Open the session and its conversation, then text the first question.

    Raises:
        TextRefused: the text was not sent (refused at the last moment, or by Twilio).
    """
    now = now or utcnow()
    session, conversation = _open(number, version, now, trial=False)
    events.record("text_survey.started", session=session, data={"survey": version.survey.slug})
    db.session.commit()
    sent = send_text(
        number,
        wording.opening(version),
        purpose=KIND,
        session_id=session.id,
        conversation_id=conversation.id,
        now=now,
    )
    if sent is None or sent.failed:
        conversations.close(conversation, "not_sent", now=now, tell=False)
        session.status = CallStatus.FAILED
        events.record("text_survey.not_sent", session=session)
        db.session.commit()
        raise TextRefused("not_sent", f"the first text to {number} could not be sent", 502)
    session.status = CallStatus.IN_PROGRESS
    session.outcome = SurveyOutcome.IN_PROGRESS
    db.session.commit()
    return session


def begin_trial(number: str, version: SurveyVersion, now: datetime | None = None) -> CallSession:
    """A try-it text survey (the dashboard): a test session and its conversation, with the
    first text stored but not sent (nobody is texted); replies go through
    ``texts.inbound.receive`` as a phone's would. Test sessions never reach the callback
    rules and stay out of trends."""
    now = now or utcnow()
    session, conversation = _open(number, version, now, trial=True)
    db.session.add(
        TextMessage(
            direction=Direction.OUTBOUND,
            number=number,
            contact_id=session.contact_id,
            body=wording.opening(version),
            status="queued",
            purpose="try_it",
            session_id=session.id,
            conversation_id=conversation.id,
            created_at=now,
        )
    )
    db.session.commit()
    return session


def finish(
    session: CallSession, conversation: TextConversation, reason: str, now: datetime
) -> None:
    """End the survey (all asked, or stopped early), commit, then run the callback rules.

    A finished survey's conversation stays open (step ``done``) until it expires, so that
    a STOP sent just after the goodbye still counts as said in the same conversation.
    """
    if session.outcome is SurveyOutcome.IN_PROGRESS:
        session.outcome = SurveyOutcome.COMPLETED if reason == "finished" else SurveyOutcome.PARTIAL
    if not session.status.is_final:
        session.status = CallStatus.COMPLETED
    session.ended_at = session.ended_at or now
    conversation.step = "done"
    events.record("text_survey.ended", session=session, data={"reason": reason})
    db.session.commit()
    try:
        evaluation.on_survey_finished(session.id)
    except Exception:  # the callbacks sweep evaluates it later; the customer is unaffected
        db.session.rollback()
        log.exception("could not hand text survey %s to the callback rules", session.id)


def on_close(conversation: TextConversation, reason: str) -> None:
    """Closed from outside: STOP (``opted_out``), a newer conversation (``superseded``) or
    nobody replied in time (``expired``): an unfinished survey ends as partial.

    After STOP the session is marked opted out before the rules run again, so they keep only
    a callback the customer asked for in this conversation, as on a call.
    """
    session = db.session.get(CallSession, conversation.session_id or 0)
    if session is None:
        return
    now = conversation.closed_at or utcnow()
    if reason == "opted_out":
        session.opted_out = True
        finish(session, conversation, reason, now)
    elif session.outcome is SurveyOutcome.IN_PROGRESS:
        finish(session, conversation, reason, now)
