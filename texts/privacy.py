"""Erasing a caller's texts: what they wrote and what we sent them, and their number.

Called by ``dashboard.erasure`` ("delete this caller's data"). Rows stay, so the counts and
the timeline keep their shape, but every body and number is gone; a standing permission
to text ends (source ``erasure``). An opt-out stays as the suppression hash, as for calls.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, or_

from core import consents
from core.contacts import ERASED
from core.db import db, utcnow
from core.models import Contact
from texts.models import TextConversation, TextMessage


def erase(numbers: Collection[str], contact: Contact | None) -> int:
    """Blank the texts to and from ``numbers`` (and the contact's); returns how many."""
    match_messages: list[ColumnElement[bool]] = [TextMessage.number.in_(list(numbers))]
    match_conversations: list[ColumnElement[bool]] = [TextConversation.number.in_(list(numbers))]
    if contact is not None:
        match_messages.append(TextMessage.contact_id == contact.id)
        match_conversations.append(TextConversation.contact_id == contact.id)
    messages = db.session.scalars(db.select(TextMessage).where(or_(*match_messages))).all()
    for message in messages:
        message.body, message.number = "", ERASED
    for conversation in db.session.scalars(
        db.select(TextConversation).where(or_(*match_conversations))
    ):
        conversation.number = ERASED
        if conversation.closed_at is None:
            conversation.closed_at, conversation.closed_reason = utcnow(), "erased"
    consents.withdraw(contact, "erasure")
    return len(messages)
