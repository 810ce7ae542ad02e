"""What the callback loop did, as other packages read it: frozen rows, never ORM rows.

``callbacks.links`` builds these and hands them out (its public read API); they live here
so that module stays about one concern, the queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from callbacks.models import RECOVERED_FROM
from callbacks.unrecorded import Missing
from core.db import utcnow


@dataclass(frozen=True)
class TaskReason:
    """Why the task exists: one reason, as agents read it."""

    code: str
    detail: str


@dataclass(frozen=True)
class Attempt:
    """One call an agent made for a task."""

    agent_id: int | None
    status: str
    outcome: str | None
    created_at: datetime | None
    ended_at: datetime | None
    answered_at: datetime | None = None  # the customer's leg, once it connected


@dataclass(frozen=True)
class FollowUpSummary:
    """The "did we put it right?" after the task's callback, and the customer's reply."""

    status: str  # scheduled, sending, sent, answered, unanswered, skipped, failed
    channel: str | None  # sms or voice, once sent
    due_at: datetime
    sent_at: datetime | None
    score: int | None  # 1-5
    answered_at: datetime | None
    reason: str | None  # why it was skipped or failed

    @property
    def recovered(self) -> bool:
        return self.score is not None and self.score >= RECOVERED_FROM


@dataclass(frozen=True)
class TaskSummary:
    """What the callback loop did for one survey session (its newest linked task)."""

    task_id: int
    state: str
    priority: str
    outcome: str | None
    notes: str | None
    reasons: tuple[TaskReason, ...]
    created_at: datetime | None
    due_at: datetime | None
    first_attempt_at: datetime | None
    closed_at: datetime | None
    attempts: tuple[Attempt, ...] = ()
    follow_up: FollowUpSummary | None = None
    # Its last call ended past the grace period with no outcome recorded (``unrecorded``).
    outcome_missing: Missing | None = None

    def sla_met(self, now: datetime | None = None) -> bool | None:
        """True/False once decided; None while the task is still inside its SLA."""
        if self.due_at is None:
            return None
        if self.first_attempt_at is not None:
            return self.first_attempt_at <= self.due_at
        return False if (now or utcnow()) > self.due_at else None


@dataclass(frozen=True)
class Recovery:
    """A followed-up callback, for the recovery figures: "recovered" is a reply of 4-5.

    Counted for the survey session that opened the task (like its SLA) and for the agent
    whose call reached the customer.
    """

    session_id: int
    agent_id: int | None
    agent: str  # the agent's name or e-mail ("" when unknown)
    status: str
    score: int | None
    sla_met: bool | None  # the task's first attempt within its deadline

    @property
    def replied(self) -> bool:
        return self.score is not None

    @property
    def recovered(self) -> bool:
        return self.score is not None and self.score >= RECOVERED_FROM


@dataclass(frozen=True)
class TaskTiming:
    """When a task a session opened was created, due and first attempted."""

    session_id: int
    created_at: datetime
    due_at: datetime
    first_attempt_at: datetime | None
