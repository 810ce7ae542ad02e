"""Where a customer's reply goes: the latest open conversation for their number.

Whatever texts a question opens a conversation (``open_conversation``) with a ``kind``, and
registers one handler for that kind (``register``), at import time of its module, like a
blueprint. A reply that is not a carrier keyword is stored, then handed to the handler of
the number's newest open conversation; the handler answers with the texts to send back
(TwiML, in the same exchange) and closes the conversation when it is done.

The text survey is kind ``survey`` (``texts.survey``); a follow-up after a callback can be
another kind pointing at its task (``task_id``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.db import db, utcnow
from texts.models import TextConversation, TextMessage

log = logging.getLogger(__name__)

# (the open conversation, the customer's stored reply) -> the texts to send back.
Handler = Callable[[TextConversation, TextMessage], list[str]]
HANDLERS: dict[str, Handler] = {}
# Closing a conversation for one of these reasons (STOP, expiry) also tells its kind.
Closer = Callable[[TextConversation, str], None]
CLOSERS: dict[str, Closer] = {}
# The conversation -> what it is waiting for, asked again (after a reply we failed to take).
Asker = Callable[[TextConversation], list[str]]
ASKERS: dict[str, Asker] = {}


def register(
    kind: str, handler: Handler, on_close: Closer | None = None, ask: Asker | None = None
) -> None:
    """Route replies to conversations of ``kind`` to ``handler`` (one handler per kind).

    ``on_close(conversation, reason)`` is told when the conversation is closed from outside
    (the customer texted STOP: ``opted_out``; nobody answered in time: ``expired``).
    ``ask(conversation)`` gives the question it waits for, to ask again when answering a
    reply failed (``texts.inbound``).
    """
    if HANDLERS.get(kind, handler) is not handler:
        raise ValueError(f"a handler for text conversations of kind {kind!r} is registered")
    HANDLERS[kind] = handler
    if on_close is not None:
        CLOSERS[kind] = on_close
    if ask is not None:
        ASKERS[kind] = ask


def open_conversation(
    number: str,
    kind: str,
    *,
    lasts: timedelta,
    contact_id: int | None = None,
    session_id: int | None = None,
    task_id: int | None = None,
    step: str | None = None,
    now: datetime | None = None,
) -> TextConversation:
    """Start a conversation that takes the number's replies for ``lasts``; older open ones
    for the number are closed (``superseded``), so a reply has one place to go."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler registered for text conversations of kind {kind!r}")
    now = now or utcnow()
    for older in open_for(number, now):
        close(older, "superseded", now=now)
    conversation = TextConversation(
        number=number,
        contact_id=contact_id,
        kind=kind,
        session_id=session_id,
        task_id=task_id,
        step=step,
        tries=1,
        opened_at=now,
        last_activity_at=now,
        expires_at=now + lasts,
    )
    db.session.add(conversation)
    db.session.flush()
    return conversation


def open_for(number: str, now: datetime) -> list[TextConversation]:
    """The number's open, unexpired conversations, newest first."""
    return list(
        db.session.scalars(
            db.select(TextConversation)
            .where(TextConversation.number == number)
            .where(TextConversation.closed_at.is_(None))
            .where(TextConversation.expires_at > now)
            .order_by(TextConversation.opened_at.desc(), TextConversation.id.desc())
        )
    )


def close(
    conversation: TextConversation, reason: str, *, now: datetime | None = None, tell: bool = True
) -> None:
    """Close it (once); ``tell``: let its kind know (not when the handler closes its own)."""
    if conversation.closed_at is not None:
        return
    conversation.closed_at, conversation.closed_reason = now or utcnow(), reason[:32]
    closer = CLOSERS.get(conversation.kind)
    if tell and closer is not None:
        closer(conversation, reason)


def close_all(number: str, reason: str, now: datetime) -> list[TextConversation]:
    """Close every open conversation of the number (STOP); returns them."""
    found = open_for(number, now)
    for conversation in found:
        close(conversation, reason, now=now)
    return found


def dispatch(message: TextMessage, now: datetime) -> list[str]:
    """Hand a reply to the number's newest open conversation; [] when there is none."""
    found = open_for(message.number, now)
    if not found:
        return []
    conversation = found[0]
    handler = HANDLERS.get(conversation.kind)
    if handler is None:  # a kind whose code is gone: keep the reply, answer nothing
        log.error("no handler for text conversation kind %r", conversation.kind)
        return []
    attach(message, conversation)
    conversation.last_activity_at = now
    return handler(conversation, message)


def attach(message: TextMessage, conversation: TextConversation) -> None:
    """File the reply under the conversation (and its survey or task)."""
    message.conversation_id = conversation.id
    message.session_id = message.session_id or conversation.session_id
    message.task_id = message.task_id or conversation.task_id


def ask_again(conversation: TextConversation) -> list[str]:
    """What the conversation waits for, as first asked; [] when its kind cannot say."""
    ask = ASKERS.get(conversation.kind)
    return ask(conversation) if ask is not None else []


def expire(now: datetime | None = None) -> int:
    """Close conversations nobody answered in time, telling their kinds; returns how many."""
    now = now or utcnow()
    stale = db.session.scalars(
        db.select(TextConversation)
        .where(TextConversation.closed_at.is_(None))
        .where(TextConversation.expires_at <= now)
    ).all()
    for conversation in stale:
        close(conversation, "expired", now=now)
    db.session.commit()
    return len(stale)
