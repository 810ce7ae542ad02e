"""Placing outbound survey calls through the Twilio REST API."""

from __future__ import annotations

from flask import current_app
from twilio.base.exceptions import TwilioRestException

from core import contacts, events
from core.db import db
from core.models import CallSession
from core.twilio_rest import public_url, twilio_client
from ivr import sessions
from ivr.turn import step_url


class CallRefused(Exception):
    """The call must not be placed; ``code`` is machine-readable, the message is for people."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def place_survey_call(
    to: str, survey_slug: str | None = None, *, is_test: bool = False
) -> CallSession:
    """Ring ``to`` and run the survey when they answer; refuses opted-out numbers."""
    try:
        number = contacts.to_e164(to)
    except contacts.InvalidNumber as exc:
        raise CallRefused("invalid_number", str(exc), status=400) from exc
    try:
        version = sessions.resolve_version(survey_slug)
    except sessions.SurveyUnavailable as exc:
        raise CallRefused("unknown_survey", f"no active survey named {exc}", status=404) from exc
    contact = contacts.find(number)
    if contact is not None and contact.opted_out:
        raise CallRefused(
            "opted_out",
            f"{number} opted out of surveys on "
            f"{contact.opted_out_at:%Y-%m-%d}; no survey call was placed",
        )
    if contact is not None and contact.do_not_call_at is not None:
        raise CallRefused("do_not_call", f"{number} is on the do-not-call list")
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
        call.sid or "",
        current_app.config["TWILIO_PHONE_NUMBER"],
        number,
        "outbound-api",
        is_test=is_test,
    )
    if session.survey_version_id is None:
        session.survey_version = version
    if session.contact is None:
        session.contact = contacts.get_or_create(number)
    events.record("call.placed", session=session, data={"survey": slug})
    db.session.commit()
    return session
