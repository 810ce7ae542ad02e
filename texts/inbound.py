"""A text comes in: store it once, then a carrier keyword or the number's open conversation.

The text is committed before it is answered ("receiving"); answering it claims it
("received") in the same transaction as the answer, so a delivery Twilio repeats is
answered once, and a text whose answer failed for want of the database (a 503) is answered
when Twilio tries again. Any other fault while answering leaves the text on record and
sends an apology with the open question again, so the texter is never left waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core import consents, contacts, events
from core.db import db, utcnow
from core.phones import canonical
from texts import conversations, keywords, wording
from texts.models import Direction, TextMessage

log = logging.getLogger(__name__)

UNANSWERED = "receiving"  # stored, not yet answered (Twilio's own word for it)
ANSWERED = "received"


def receive(params: Mapping[str, str], now: datetime | None = None) -> list[str]:
    """Handle one ``/twilio/sms`` request (fields already checked); returns the replies.

    A MessageSid answered before (Twilio retrying a request that timed out) is answered
    with nothing: its replies went out the first time.

    Raises:
        OperationalError, TimeoutError: the database is unreachable (a 503: Twilio tries
            again, and the text, if it was stored, is answered then).
    """
    now = now or utcnow()
    sid = params["MessageSid"]
    message = _stored(params, now)
    if not _claim(sid):
        db.session.rollback()
        log.info("text %s seen before; not answered again", sid)
        return []
    try:
        return _answer(message, now)
    except (OperationalError, PoolTimeout):
        raise
    except Exception:
        db.session.rollback()
        log.exception("answering text %s failed; it is kept and its question asked again", sid)
    return _apologise(sid, now)


def _stored(params: Mapping[str, str], now: datetime) -> TextMessage:
    """The text's row, committed (this delivery's, or an earlier one's of the same sid)."""
    sid = params["MessageSid"]
    number = canonical(params["From"])[:20]
    contact = contacts.get_or_create(number)
    message = TextMessage(
        sid=sid,
        direction=Direction.INBOUND,
        number=number,
        contact_id=contact.id,
        body=params.get("Body", ""),
        status=UNANSWERED,
        purpose="reply",
        created_at=now,
    )
    stored = events.insert_or_get(message, TextMessage.sid == sid)
    db.session.commit()
    return stored


def _claim(sid: str) -> bool:
    """Mark the text answered, in the answer's own transaction; False if it already was.

    A conditional UPDATE: a second delivery at the same moment waits for this one's commit
    and then finds nothing to claim.
    """
    result = db.session.execute(
        update(TextMessage)
        .where(TextMessage.sid == sid, TextMessage.status == UNANSWERED)
        .values(status=ANSWERED)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _answer(message: TextMessage, now: datetime) -> list[str]:
    """A carrier keyword's answer, or the open conversation's; stored, then committed."""
    contact = contacts.get_or_create(message.number)
    # YES answers a question while one is open (or texts are on); otherwise it opts in.
    texts_on = consents.current(contact) is not None or bool(
        conversations.open_for(message.number, now)
    )
    keyword = keywords.read(message.body, texts_on=texts_on)
    if keyword is not None:
        message.purpose = f"keyword:{keyword.value}"
        events.record("texts.keyword", data={"contact_id": contact.id, "keyword": keyword.value})
        replies = keywords.apply(keyword, contact, now)
    else:
        replies = conversations.dispatch(message, now)
    _keep_replies(message, replies, now)
    db.session.commit()
    return replies


def _apologise(sid: str, now: datetime) -> list[str]:
    """After a fault: the text (already on record) is claimed, so a redelivery changes
    nothing, and answered with an apology and the open conversation's question again.
    Nothing when a redelivery, waiting on the failed answer, claimed and answered it."""
    if not _claim(sid):  # answered by that delivery, or erased meanwhile
        db.session.rollback()
        return []
    message = db.session.scalar(db.select(TextMessage).where(TextMessage.sid == sid))
    if message is None:  # erased meanwhile: nothing to answer
        db.session.commit()
        return []
    found = conversations.open_for(message.number, now)
    asked: list[str] = []
    if found and keywords.read(message.body, texts_on=True) is None:
        conversations.attach(message, found[0])
        asked = conversations.ask_again(found[0])
    replies = [" ".join([wording.SORRY, *asked]) if asked else wording.SORRY_LATER]
    events.record("texts.reply_failed", data={"message_id": message.id})
    _keep_replies(message, replies, now)
    db.session.commit()
    return replies


def _keep_replies(message: TextMessage, replies: list[str], now: datetime) -> None:
    """The texts sent back as TwiML, on record beside the one they answer."""
    for body in replies:
        db.session.add(
            TextMessage(
                direction=Direction.OUTBOUND,
                number=message.number,
                contact_id=message.contact_id,
                body=body,
                status="queued",  # sent by Twilio from our TwiML; no sid reaches us
                purpose=message.purpose,
                session_id=message.session_id,
                task_id=message.task_id,
                conversation_id=message.conversation_id,
                created_at=now,
            )
        )
