"""The SMS channel's rows: every text sent or received, and the conversations they belong to.

A *conversation* is what an inbound reply answers: the latest open one for the number gets
it (``texts.inbound``). Its ``kind`` names the handler (``texts.conversations.register``):
``survey`` is the text survey, whose answers live on a ``CallSession`` with channel "sms";
other kinds (a follow-up after a callback) register their own handler and may point at a
callback task instead.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callbacks.models import CallbackTask  # noqa: F401 - the task_id foreign keys need its table
from core.db import UTCDateTime, db, utcnow
from core.models import CallSession


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


# Twilio's MessageStatus values in the order a text lives them; finals share the last rank
# but one, so a late "sent" never overwrites "delivered" (status callbacks may come out of
# order) and "read" (WhatsApp/RCS) still moves on.
STATUS_RANK: dict[str, int] = {
    "pending": 0,  # ours: stored, Twilio not asked yet
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "receiving": 4,
    "received": 5,
    "unanswerable": 5,  # ours: an inbound text found unanswered after its conversation ended
    "delivered": 5,
    "undelivered": 5,
    "failed": 5,
    "canceled": 5,
    "partially_delivered": 5,
    "read": 6,
}
FAILED = frozenset({"failed", "undelivered", "canceled"})
# Texts stored and not answered yet: a handful at any time (texts.stranded sweeps them).
RECEIVING_WHERE = "status = 'receiving'"


class TextMessage(db.Model):  # type: ignore[name-defined]
    """One text, in or out. ``sid`` is Twilio's MessageSid (None until Twilio accepted it)."""

    __tablename__ = "text_messages"
    __table_args__ = (
        # Partial: only the texts waiting for an answer, so the sweep reads a tiny index.
        Index(
            "ix_text_messages_receiving",
            "created_at",
            sqlite_where=text(RECEIVING_WHERE),
            postgresql_where=text(RECEIVING_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(8))  # Direction
    number: Mapped[str] = mapped_column(String(20), index=True)  # the customer's, E.164
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), default="pending")  # STATUS_RANK
    error_code: Mapped[str | None] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(32))  # survey, help, keyword, follow_up…
    session_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("text_conversations.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    session: Mapped[CallSession | None] = relationship()

    @property
    def failed(self) -> bool:
        return self.status in FAILED


class TextConversation(db.Model):  # type: ignore[name-defined]
    """An exchange waiting for the customer's reply, routed by ``kind``."""

    __tablename__ = "text_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    kind: Mapped[str] = mapped_column(String(32))  # a registered handler's name
    session_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id"), index=True)
    step: Mapped[str | None] = mapped_column(String(32))  # the handler's own place
    tries: Mapped[int] = mapped_column(Integer, default=1)  # asks of the current step
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_reason: Mapped[str | None] = mapped_column(String(32))

    session: Mapped[CallSession | None] = relationship()
