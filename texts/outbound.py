"""Sending a text: the gate first, the row next, then Twilio's Messages API.

``send_text`` is the one way anything sends a text that starts an exchange (a survey's
first question, a follow-up). Replies inside a conversation go back as TwiML
(``texts.webhooks``), since the customer just wrote to us.
"""

from __future__ import annotations

import logging
from datetime import datetime

import requests
from flask import current_app
from sqlalchemy.exc import IntegrityError
from twilio.base.exceptions import TwilioRestException

from core import contacts, events, reachability
from core.db import db, utcnow
from core.twilio_rest import public_url, twilio_client
from texts import consent
from texts.models import Direction, TextMessage
from texts.status import adopt_placeholder, advance, give_up

log = logging.getLogger(__name__)

STATUS_PATH = "/twilio/sms/status"


def send_text(
    number: str,
    body: str,
    *,
    purpose: str,
    session_id: int | None = None,
    task_id: int | None = None,
    conversation_id: int | None = None,
    now: datetime | None = None,
) -> TextMessage | None:
    """Text ``body`` to ``number`` through Twilio, with a status callback; None if not allowed.

    Not allowed: no standing permission, an opt-out or do-not-call entry, the dialling
    policy, or outside the callee's calling hours (``core.reachability``; schedule for
    ``reachability.hours_refusal(...).retry_at`` instead). The row is committed before
    Twilio is asked, so the text is on record even if Twilio refuses it (status "failed").
    """
    now = now or utcnow()
    try:
        number = contacts.to_e164(number)
    except contacts.InvalidNumber:
        log.info("text not sent: %r is not a phone number", number)
        return None
    refusal = consent.refusal(number) or reachability.hours_refusal(number, now)
    if refusal is not None:
        log.info("text to %s not sent (%s): %s", number, purpose, refusal.code)
        return None
    contact = contacts.get_or_create(number)
    message = TextMessage(
        direction=Direction.OUTBOUND,
        number=number,
        contact_id=contact.id,
        body=body,
        status="pending",
        purpose=purpose[:32],
        session_id=session_id,
        task_id=task_id,
        conversation_id=conversation_id,
    )
    db.session.add(message)
    db.session.commit()
    try:
        sent = twilio_client().messages.create(
            to=number,
            from_=current_app.config["TWILIO_PHONE_NUMBER"],
            body=body,
            # Names the text: a callback can find it even if this call's answer is lost.
            status_callback=public_url(f"{STATUS_PATH}?text={message.id}"),
        )
    except TwilioRestException as exc:
        log.warning("Twilio refused the text to %s: %s", number, exc.msg)
        give_up(message, str(exc.code or "") or None)
        return message
    except requests.RequestException:
        log.exception("could not reach Twilio to text %s", number)
        give_up(message)
        return message
    _attach(message, sent.sid or "", sent.status or "queued")
    events.record(
        "text.sent",
        session=message.session,
        data={"message_id": message.id, "purpose": purpose, "task_id": task_id},
    )
    db.session.commit()
    return message


def _attach(message: TextMessage, sid: str, status: str) -> None:
    """Give the row its MessageSid, taking over what an early status callback stored."""
    for _ in range(3):
        try:
            adopt_placeholder(message, sid)
            advance(sid, str(status))
            db.session.commit()
            return
        except IntegrityError:  # a status callback stored a placeholder meanwhile: fold again
            db.session.rollback()
    log.error("could not store MessageSid %s on text %s", sid, message.id)
