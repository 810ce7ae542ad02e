"""Texts stored but never answered, answered late by REST (the scheduler's minute sweep).

The SMS webhook commits a text ("receiving") before it answers it (``texts.inbound``). If
the process dies between the two, or the answer's transaction fails because the database
went away (a 503), nobody answers it: Twilio does not retry an SMS webhook after a 5xx or
a timeout, it only tries the number's fallback URL. ``sweep`` takes the texts left
"receiving" past ``GRACE`` and answers each once, through the same conversation logic,
sending the replies with ``texts.outbound.send_text`` (its permission, opt-out,
do-not-call and calling-hours gate) instead of TwiML.

Once only: the conditional claim (``inbound.claim``) decides, so a redelivery racing the
sweep, or two sweeps, answer it once. A text whose conversation ended or moved on since it
came in (expired, superseded, answered by a later text) is marked "unanswerable" and
logged: its answer would land on the wrong question. A reply to a conversation waits while
it is outside the texter's calling hours; a carrier keyword (STOP) is applied at once.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta
from typing import Any

from rq.timeouts import BaseTimeoutException
from sqlalchemy import Select, and_, or_, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core import contacts, events, reachability
from core.db import db, utcnow
from texts import inbound, keywords, outbound
from texts.models import RECEIVING_WHERE, Direction, TextConversation, TextMessage

log = logging.getLogger(__name__)

# Longer than any webhook holds a text: Twilio gives up on one after 15 s, so a text still
# "receiving" after this was left by a process that died or lost its database.
GRACE = timedelta(minutes=2)
BATCH = 100  # texts a sweep settles (oldest first); normally there are none


class Late(enum.Enum):
    """What became of one stranded text in a sweep."""

    ANSWERED = "answered"
    SETTLED = "settled"  # not answered: unanswerable, or answered by someone else meanwhile
    WAITS = "waits"  # its reply waits for the texter's calling hours: a later sweep


def sweep(now: datetime | None = None) -> int:
    """Answer the texts left unanswered past ``GRACE``; returns how many were answered.

    Settles at most ``BATCH``, oldest first; those waiting for calling hours are passed
    over without counting, so a night's backlog never holds back newer texts (a STOP, a
    texter whose hours are open) until the morning.
    """
    now = now or utcnow()
    answered = settled = 0
    after: tuple[datetime, int] | None = None
    while settled < BATCH:
        page = db.session.execute(due(now, after)).all()
        db.session.rollback()
        for message_id, created_at, number, body in page:
            outcome = Late.WAITS if _waits(number, body, now) else answer_late(message_id, now)
            answered += outcome is Late.ANSWERED
            settled += outcome is not Late.WAITS
            after = (created_at, message_id)
            if settled >= BATCH:
                break
        if len(page) < BATCH:
            break
    return answered


def due(now: datetime, after: tuple[datetime, int] | None = None) -> Select[Any]:
    """The oldest ``BATCH`` texts left unanswered past ``GRACE`` (id, created_at, number,
    body), those after ``after`` (the last one a sweep looked at) if given."""
    query = (
        db.select(TextMessage.id, TextMessage.created_at, TextMessage.number, TextMessage.body)
        .where(text(RECEIVING_WHERE))  # a literal: the partial index's own condition
        .where(TextMessage.created_at < now - GRACE)
        .where(TextMessage.direction == Direction.INBOUND)
        .order_by(TextMessage.created_at, TextMessage.id)
        .limit(BATCH)
    )
    if after is None:
        return query
    created_at, message_id = after
    return query.where(
        or_(
            TextMessage.created_at > created_at,
            and_(TextMessage.created_at == created_at, TextMessage.id > message_id),
        )
    )


def answer_late(message_id: int, now: datetime) -> Late:
    """Answer one stranded text by REST, once; or say why not."""
    message = db.session.get(TextMessage, message_id)
    sid = message.sid if message is not None else None
    if message is None or sid is None or message.status != inbound.UNANSWERED:
        db.session.rollback()
        return Late.SETTLED
    if message.number == contacts.ERASED:  # its sender's data erased since: nobody to answer
        db.session.rollback()
        _give_up(sid, "erased")
        return Late.SETTLED
    try:
        return _answer(message, sid, now)
    except (OperationalError, PoolTimeout):
        raise  # the database is away: the next sweep tries again
    except BaseTimeoutException:  # the job's time is up, no fault of this text
        db.session.rollback()  # its claim with it: the next sweep answers it
        raise
    except Exception:
        db.session.rollback()
        log.exception("answering stranded text %s failed", sid)
        _give_up(sid, "failed")
        return Late.SETTLED


def _waits(number: str, body: str, now: datetime) -> bool:
    """Outside the texter's calling hours and no carrier keyword (those apply at any hour):
    left for their morning unread, since a night's backlog is passed over every minute."""
    if number == contacts.ERASED or keywords.read(body, texts_on=False) is not None:
        return False
    return reachability.hours_refusal(number, now) is not None


def _answer(message: TextMessage, sid: str, now: datetime) -> Late:
    keyword = inbound.keyword_in(message, now)
    then = _conversation_then(message) if keyword is None else None
    if then is not None:
        moved_on = _moved_on(then, message, now)
        if moved_on is not None:
            db.session.rollback()
            _give_up(sid, moved_on)
            return Late.SETTLED
        refusal = reachability.hours_refusal(message.number, now)
        if refusal is not None:  # YES answering a question: its reply waits for the hours
            db.session.rollback()
            log.info("stranded text %s waits for calling hours: %s", sid, refusal.code)
            return Late.WAITS
    if not inbound.claim(sid):  # a redelivery or another sweep answered it meanwhile
        db.session.rollback()
        return Late.SETTLED
    # Once more, under the conversation's lock: a sweep that overran its minute may have
    # answered another of the texter's texts since we looked (the question asked twice).
    moved_on = _moved_on(_locked(then), message, now) if then is not None else None
    if moved_on is not None:
        db.session.rollback()
        _give_up(sid, moved_on)
        return Late.SETTLED
    # No conversation open when it came in: nothing to say (as the webhook), even if one
    # opened since, for it was no reply to that one.
    replies = inbound.replies_to(message, now) if keyword or then is not None else []
    events.record("texts.answered_late", data={"message_id": message.id})
    db.session.commit()
    log.warning("stranded text %s answered late (%d replies)", sid, len(replies))
    for body in replies:
        outbound.send_text(
            message.number,
            body,
            purpose=message.purpose,
            session_id=message.session_id,
            task_id=message.task_id,
            conversation_id=message.conversation_id,
            now=now,
        )
    return Late.ANSWERED


def _conversation_then(message: TextMessage) -> TextConversation | None:
    """The conversation the text went to when it came in: the number's newest open one."""
    return db.session.scalars(
        db.select(TextConversation)
        .where(TextConversation.number == message.number)
        .where(TextConversation.opened_at <= message.created_at)
        .where(TextConversation.expires_at > message.created_at)
        .where(
            or_(
                TextConversation.closed_at.is_(None),
                TextConversation.closed_at > message.created_at,
            )
        )
        .order_by(TextConversation.opened_at.desc(), TextConversation.id.desc())
        .limit(1)
    ).first()


def _locked(conversation: TextConversation) -> TextConversation:
    """The conversation as committed now, locked until this transaction ends."""
    return db.session.scalars(
        db.select(TextConversation)
        .where(TextConversation.id == conversation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _moved_on(then: TextConversation, message: TextMessage, now: datetime) -> str | None:
    """Why that conversation cannot take the text now (its answer would land on the wrong
    question, or nowhere), or None."""
    if then.closed_at is not None or then.expires_at <= now:
        return f"conversation {then.closed_reason or 'expired'}"
    if then.last_activity_at > message.created_at:
        return "conversation moved on"  # a later text was answered: this one is stale
    return None


def _give_up(sid: str, reason: str) -> None:
    """Mark the text unanswerable (if still unanswered), and say so."""
    result = db.session.execute(
        update(TextMessage)
        .where(TextMessage.sid == sid, TextMessage.status == inbound.UNANSWERED)
        .values(status=inbound.UNANSWERABLE)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        events.record("texts.unanswerable", data={"sid": sid, "reason": reason})
        log.warning("stranded text %s not answered: %s", sid, reason)
    db.session.commit()
