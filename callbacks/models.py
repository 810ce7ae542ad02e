"""Callback tasks (one open per contact) and the dial attempts made for them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from core.models import CallSession, Contact, User, _enum


class TaskState(enum.StrEnum):
    """Where a callback task is; ``callbacks.states`` holds every allowed move."""

    OPEN = "open"  # waiting for an agent (possibly scheduled for later)
    ESCALATED = "escalated"  # missed its SLA while waiting; supervisors told
    CLAIMED = "claimed"  # an agent holds it
    DIALING = "dialing"  # an attempt is being placed / ringing
    CONNECTED = "connected"  # the customer's leg answered and is bridged
    COMPLETED = "completed"  # the conversation ended; the agent records the outcome
    NO_ANSWER = "no_answer"  # the customer was rung and did not answer (or was busy)
    VOICEMAIL = "voicemail"  # the agent reached voicemail
    FAILED = "failed"  # Twilio could not reach the customer
    RETRY_SCHEDULED = "retry_scheduled"  # waiting for the next attempt's time
    CLOSED = "closed"  # done; only a low follow-up reply takes it back (reopened)
    REOPENED = "reopened"  # the follow-up said we did not put it right: for a supervisor


class Priority(enum.IntEnum):
    NORMAL = 1
    HIGH = 2
    URGENT = 3
    CRITICAL = 4  # an urgent task that missed its SLA

    @property
    def label(self) -> str:
        return self.name.lower()


class AttemptStatus(enum.StrEnum):
    """One click-to-call: agent leg first, then the customer's leg."""

    DIALING = "dialing"  # row committed before calls.create
    AGENT_RINGING = "agent_ringing"
    AGENT_ANSWERED = "agent_answered"
    CONNECTED = "connected"  # customer answered
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    AGENT_UNREACHED = "agent_unreached"  # the agent's phone never picked up: no customer call
    NOT_PLACED = "not_placed"  # Twilio refused, or the dial was stopped before the customer
    UNKNOWN = "unknown"  # calls.create timed out and Twilio never called us back

    @property
    def rank(self) -> int:
        return _ATTEMPT_RANK.get(self, 9)

    @property
    def is_final(self) -> bool:
        return self.rank == 9


_ATTEMPT_RANK = {
    AttemptStatus.DIALING: 0,
    AttemptStatus.AGENT_RINGING: 1,
    AttemptStatus.AGENT_ANSWERED: 2,
    AttemptStatus.CONNECTED: 3,
}

OPEN_TASK_WHERE = "closed_at IS NULL"


class CallbackTask(db.Model):  # type: ignore[name-defined]
    """A person should call this contact back; reasons merge into the one open task."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        Index(
            "uq_callback_tasks_open_contact",
            "contact_id",
            unique=True,
            sqlite_where=text(OPEN_TASK_WHERE),
            postgresql_where=text(OPEN_TASK_WHERE),
        ),
        Index("ix_callback_tasks_state_priority_due", "state", "priority", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    state: Mapped[TaskState] = mapped_column(
        _enum(TaskState, "callback_state"), default=TaskState.OPEN
    )
    priority: Mapped[int] = mapped_column(Integer, default=int(Priority.NORMAL))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(20))  # E.164 number to call
    timezone: Mapped[str] = mapped_column(String(64))  # callee's zone for calling hours
    preference: Mapped[str | None] = mapped_column(String(16))  # a CALLBACK_TIME_WORDS key
    # The caller asked for a call in a survey ending at this moment (consent despite opt-out).
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())  # not dialled before
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # SLA deadline
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts_count: Mapped[int] = mapped_column(Integer, default=0)  # real attempts only
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(24))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[CallSession | None] = relationship()
    contact: Mapped[Contact] = relationship()
    claimed_by: Mapped[User | None] = relationship()
    attempts: Mapped[list[CallbackAttempt]] = relationship(
        back_populates="task", order_by="CallbackAttempt.id"
    )

    @property
    def priority_label(self) -> str:
        return Priority(self.priority).label

    @property
    def reason_codes(self) -> list[str]:
        return [r["code"] for r in self.reasons]

    @property
    def session_ids(self) -> set[int]:
        """The survey sessions linked to this task: its opener and every session that gave
        it a reason (``callbacks.links`` holds the same definition in SQL)."""
        ids = {r.get("session_id") for r in self.reasons} | {self.session_id}
        return {i for i in ids if i is not None}


class CallbackAttempt(db.Model):  # type: ignore[name-defined]
    """One click-to-call. Written as ``dialing`` and committed before Twilio is asked."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_tasks.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[AttemptStatus] = mapped_column(
        _enum(AttemptStatus, "callback_attempt_status"), default=AttemptStatus.DIALING
    )
    outcome: Mapped[str | None] = mapped_column(String(24))
    to_number: Mapped[str] = mapped_column(String(20))
    agent_number: Mapped[str] = mapped_column(String(20))
    agent_call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    customer_call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set by the one job allowed to call calls.create for this attempt (never twice).
    create_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counted: Mapped[bool] = mapped_column(Boolean, default=False)  # a real attempt
    error: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    task: Mapped[CallbackTask] = relationship(back_populates="attempts")
    agent: Mapped[User | None] = relationship()


RECOVERED_FROM = 4  # a follow-up reply of 4-5 is a recovery; 1-3 reopens the task


class FollowUpStatus(enum.StrEnum):
    """Where a follow-up is: each moves forward only (``callbacks.followup``)."""

    SCHEDULED = "scheduled"  # waiting for its time (the delay, then callee-local hours)
    SENDING = "sending"  # claimed by one job; Twilio is being asked
    SENT = "sent"  # the text went out, or the call was placed; waiting for the reply
    ANSWERED = "answered"  # the customer replied 1-5
    UNANSWERED = "unanswered"  # the follow-up call was not picked up
    SKIPPED = "skipped"  # not sent: opted out, do-not-call, erased, number not dialled
    FAILED = "failed"  # Twilio refused, or the send was lost midway (never sent twice)


class FollowUp(db.Model):  # type: ignore[name-defined]
    """A "did we put it right?" after a callback that reached the customer: one per task."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_tasks.id"), unique=True)
    # The agent whose call reached the customer: the recovery figure per agent is theirs.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[FollowUpStatus] = mapped_column(
        _enum(FollowUpStatus, "follow_up_status"), default=FollowUpStatus.SCHEDULED, index=True
    )
    channel: Mapped[str | None] = mapped_column(String(8))  # sms or voice, once sent
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # not sent before (UTC)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Twilio's MessageSid or CallSid of what was sent.
    sid: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int | None] = mapped_column(SmallInteger)  # 1-5
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)  # why skipped or failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    task: Mapped[CallbackTask] = relationship()
    agent: Mapped[User | None] = relationship()

    @property
    def recovered(self) -> bool:
        """The customer said we put it right: 4 or 5."""
        return self.score is not None and self.score >= RECOVERED_FROM
