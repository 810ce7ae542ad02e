"""A text comes in: store it once, then a carrier keyword or the number's open conversation."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from core import consents, contacts, events
from core.db import db, utcnow
from core.phones import canonical
from texts import conversations, keywords
from texts.models import Direction, TextMessage

log = logging.getLogger(__name__)


def receive(params: Mapping[str, str], now: datetime | None = None) -> list[str]:
    """Handle one ``/twilio/sms`` request (fields already checked); returns the replies.

    A MessageSid seen before (Twilio retrying a request that timed out) is answered with
    nothing: its replies went out the first time.
    """
    now = now or utcnow()
    sid, body = params["MessageSid"], params.get("Body", "")
    number = canonical(params["From"])[:20]
    contact = contacts.get_or_create(number)
    message = TextMessage(
        sid=sid,
        direction=Direction.INBOUND,
        number=number,
        contact_id=contact.id,
        body=body,
        status="received",
        purpose="reply",
        created_at=now,
    )
    stored = events.insert_or_get(message, TextMessage.sid == sid)
    if stored is not message:
        log.info("text %s seen before; not answered again", sid)
        return []
    # YES answers a question while one is open (or texts are on); otherwise it opts in.
    texts_on = consents.current(contact) is not None or bool(conversations.open_for(number, now))
    keyword = keywords.read(body, texts_on=texts_on)
    if keyword is not None:
        message.purpose = f"keyword:{keyword.value}"
        events.record("texts.keyword", data={"contact_id": contact.id, "keyword": keyword.value})
        replies = keywords.apply(keyword, contact, now)
    else:
        replies = conversations.dispatch(message, now)
    for body_out in replies:
        db.session.add(
            TextMessage(
                direction=Direction.OUTBOUND,
                number=number,
                contact_id=contact.id,
                body=body_out,
                status="queued",  # sent by Twilio from our TwiML; no sid reaches us
                purpose=message.purpose if keyword is not None else "reply",
                session_id=message.session_id,
                task_id=message.task_id,
                conversation_id=message.conversation_id,
                created_at=now,
            )
        )
    db.session.commit()
    return replies
