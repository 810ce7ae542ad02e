"""After a callback: "Did we put it right?", the customer's 1-5 reply, and what it does.

When an agent records ``resolved`` or ``follow_up`` on a task whose call reached the
customer, ``schedule`` (inside ``actions.record_outcome``'s transaction) writes the task's
one follow-up, due ``FOLLOW_UP_DELAY_HOURS`` later and then at the first moment inside the
callee's calling hours; after the commit ``enqueue`` hands ``send_follow_up`` to the queue
for that moment. The job lives in ``workers.jobs`` because the text channel (``texts``) sits
above this package: it asks ``begin`` whether to send, texts or places the voice call, and
reports back with ``mark_sent`` / ``mark_failed``. The reply, by text or voice, comes to
``record_follow_up``: 4-5 counts as recovered; 1-3 reopens the task for a supervisor.

One follow-up per task: the row is unique per task and ``begin`` claims it with a
conditional UPDATE, so a duplicate job, a retry and the sweep never send twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update

from callbacks import evaluation, states
from callbacks.models import (
    RECOVERED_FROM,
    CallbackAttempt,
    CallbackTask,
    FollowUp,
    Priority,
    TaskState,
)
from callbacks.models import FollowUpStatus as F
from callbacks.policy import reached, sla_minutes, task_zone, window
from core import contacts, events, hours, queues, reachability
from core.db import db, utcnow
from core.models import QuestionKind
from replies.answers import Reading, read_reply

log = logging.getLogger(__name__)

QUESTION = "Did we put it right?"
# Outcomes after which we ask: the customer was reached and the agent thinks it is settled
# or has a next step. Declined, wrong number and unreached calls are never followed up.
FOLLOW_UP_OUTCOMES = frozenset({"resolved", "follow_up"})
CHANNELS = ("sms", "voice")
SWEEP_GRACE = timedelta(minutes=1)  # the scheduled job goes first
STALE_SENDING = timedelta(minutes=10)
REPLIED = (F.SENDING, F.SENT)  # a reply can beat the job's own "sent" (a fast answer)


@dataclass(frozen=True)
class Outgoing:
    """A follow-up claimed for sending, right now, by the job that got it."""

    task_id: int
    number: str
    at: datetime  # the moment it was cleared to go (the gate's "now")


def delay() -> timedelta:
    """``FOLLOW_UP_DELAY_HOURS`` (default 24; 0 asks at once, inside calling hours)."""
    return timedelta(hours=max(0.0, float(current_app.config["FOLLOW_UP_DELAY_HOURS"])))


def for_task(task_id: int) -> FollowUp | None:
    return db.session.scalar(db.select(FollowUp).where(FollowUp.task_id == task_id))


def reaching_attempt(task: CallbackTask) -> CallbackAttempt | None:
    """The latest call of the task that reached the customer (``policy.reached``)."""
    return next((a for a in reversed(task.attempts) if reached(a.status, a.outcome)), None)


def job_id(follow_up: FollowUp, suffix: str = "") -> str:
    """Its pending job: one per due time, so a duplicate enqueue is the same job."""
    return f"follow-up-{follow_up.task_id}-{int(follow_up.due_at.timestamp())}{suffix}"


# --- scheduling -----------------------------------------------------------------------------


def schedule(task: CallbackTask, outcome: str, now: datetime) -> FollowUp | None:
    """The task's follow-up, if this outcome after a reached customer asks for one.

    Added to the caller's transaction; ``enqueue`` it after the commit. A task has at most
    one follow-up, so a task reopened and settled again is not asked twice.
    """
    attempt = reaching_attempt(task)
    if outcome not in FOLLOW_UP_OUTCOMES or attempt is None or for_task(task.id) is not None:
        return None
    due = hours.next_allowed(now + delay(), task_zone(task), window())
    follow_up = FollowUp(task_id=task.id, agent_id=attempt.agent_id, due_at=due)
    db.session.add(follow_up)
    db.session.flush()
    events.record(
        "callback.follow_up_scheduled",
        session=task.session,
        data={"task_id": task.id, "due_at": due.isoformat()},
    )
    return follow_up


def enqueue(follow_up: FollowUp, *, suffix: str = "") -> None:
    """After commit: ``send_follow_up`` at its due time (the sweep if Redis is out)."""
    try:
        queues.enqueue(
            "send_follow_up",
            follow_up.task_id,
            job_id=job_id(follow_up, suffix),
            at=follow_up.due_at,
        )
    except RedisError:
        log.exception("could not schedule follow-up of task %s; the sweep will", follow_up.task_id)


# --- sending (the job) ----------------------------------------------------------------------


def begin(task_id: int, now: datetime | None = None) -> Outgoing | str:
    """Claim the task's follow-up for sending now, or say why not.

    Early: put back for its time. Outside the callee's hours: moved to the next opening.
    Do-not-call, opted out, erased or a number we never dial: skipped for good. Otherwise
    one caller wins the claim and gets an :class:`Outgoing`; every other run gets a word.
    """
    now = now or utcnow()
    follow_up = for_task(task_id)
    if follow_up is None:
        return "missing"
    if follow_up.status is not F.SCHEDULED:
        return follow_up.status.value
    if now < follow_up.due_at:  # a worker whose clock runs early: wait for the time
        enqueue(follow_up, suffix=f"-early-{int(now.timestamp())}")
        return "not_due"
    task = follow_up.task
    if task.phone == contacts.ERASED:
        return _finish(follow_up, F.SKIPPED, "erased: the caller's data was deleted")
    refusal = reachability.check(
        task.phone, channel=reachability.Channel.CALLBACK, now=now, tz=task_zone(task)
    )
    if refusal is not None and refusal.retry_at is not None:
        moved = _conditional(follow_up, (F.SCHEDULED,), due_at=refusal.retry_at)
        db.session.commit()
        if moved:
            db.session.refresh(follow_up)
            enqueue(follow_up)
        return "rescheduled"
    if refusal is not None:
        return _finish(follow_up, F.SKIPPED, f"{refusal.code}: {refusal.message}")
    claimed = _conditional(follow_up, (F.SCHEDULED,), status=F.SENDING)
    db.session.commit()
    if not claimed:
        return "already_claimed"
    return Outgoing(task_id=task.id, number=task.phone, at=now)


def mark_sent(task_id: int, channel: str, sid: str | None) -> None:
    """The text went out or the call was placed (a reply may already have come)."""
    follow_up = for_task(task_id)
    if follow_up is None:
        return
    now = utcnow()
    if not _conditional(
        follow_up, (F.SENDING,), status=F.SENT, channel=channel, sid=sid, sent_at=now
    ):  # the reply or the call's end came first: keep what it said, note the send
        _conditional(follow_up, (F.ANSWERED, F.UNANSWERED), channel=channel, sid=sid, sent_at=now)
    events.record(
        "callback.follow_up_sent",
        session=follow_up.task.session,
        data={"task_id": task_id, "channel": channel},
    )
    db.session.commit()


def mark_failed(task_id: int, reason: str) -> None:
    """Nothing went out (Twilio refused); it is not tried again."""
    follow_up = for_task(task_id)
    if follow_up is not None and _conditional(
        follow_up, (F.SENDING,), status=F.FAILED, reason=reason[:500]
    ):
        log.warning("follow-up of task %s failed: %s", task_id, reason)
    db.session.commit()


def call_ended(task_id: int, call_status: str) -> None:
    """The follow-up call's last status: not picked up is ``unanswered`` (not retried)."""
    follow_up = for_task(task_id)
    if follow_up is not None and call_status in ("no-answer", "busy", "failed", "canceled"):
        _conditional(follow_up, REPLIED, status=F.UNANSWERED, reason=f"call {call_status}")
    db.session.commit()


def sweep(now: datetime | None = None) -> list[int]:
    """Every minute: tasks whose due follow-up lost its job (to send now); sends lost midway
    are failed, never sent again (the text or call may have gone out)."""
    now = now or utcnow()
    stuck = db.session.scalars(
        db.select(FollowUp)
        .where(FollowUp.status == F.SENDING)
        .where(FollowUp.updated_at <= now - STALE_SENDING)
    ).all()
    for follow_up in stuck:
        _conditional(follow_up, (F.SENDING,), status=F.FAILED, reason="lost while sending")
    db.session.commit()
    due = db.session.scalars(
        db.select(FollowUp)
        .where(FollowUp.status == F.SCHEDULED)
        .where(FollowUp.due_at <= now - SWEEP_GRACE)
        .order_by(FollowUp.due_at)
    ).all()
    return [f.task_id for f in due if not queues.job_is_pending(job_id(f))]


def _finish(follow_up: FollowUp, status: F, reason: str) -> str:
    if _conditional(follow_up, (F.SCHEDULED,), status=status, reason=reason[:500]):
        events.record(
            f"callback.follow_up_{status.value}",
            session=follow_up.task.session,
            data={"task_id": follow_up.task_id, "reason": reason.split(":")[0]},
        )
    db.session.commit()
    return status.value


def _conditional(follow_up: FollowUp, sources: tuple[F, ...], **values: Any) -> bool:
    """Move the row only from ``sources``: of two racing writers one wins."""
    result = db.session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up.id)
        .where(FollowUp.status.in_(sources))
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(follow_up)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


# --- the reply ------------------------------------------------------------------------------


def read(digits: str, speech: str) -> Reading:
    """A reply to "1 to 5", keyed or in words, by the survey's own answer reader."""
    return read_reply(QuestionKind.CSAT, digits.strip(), speech.strip())


def record_follow_up(task_id: int, score: int, channel: str, *, now: datetime | None = None) -> str:
    """Store the customer's reply; ``recovered`` (4-5), ``reopened`` (1-3), or ``already``
    when a reply was stored before (the first one counts) and ``missing`` with no follow-up.
    """
    if not 1 <= score <= 5 or channel not in CHANNELS:
        raise ValueError(f"a follow-up reply is 1-5 by sms or voice, not {score} by {channel}")
    now = now or utcnow()
    follow_up = for_task(task_id)
    if follow_up is None:
        return "missing"
    stored = _conditional(
        follow_up, REPLIED, status=F.ANSWERED, score=score, answered_at=now, channel=channel
    )
    if not stored:
        return "already"
    task = follow_up.task
    events.record(
        "callback.follow_up_answered",
        session=task.session,
        data={"task_id": task_id, "score": score, "channel": channel},
    )
    if score >= RECOVERED_FROM:
        db.session.commit()
        return "recovered"
    by = "text" if channel == "sms" else "phone"
    detail = f"Follow-up reply {score} of 5 by {by}: not put right. For a supervisor."
    _back_to_queue(task, "follow_up_low", detail, now)
    return "reopened"


def opt_out(task_id: int, channel: str) -> None:
    """Asked on the follow-up to hear no more from us: opted out, like anywhere else."""
    follow_up = for_task(task_id)
    if follow_up is not None:
        contacts.opt_out(follow_up.task.contact, source=f"follow_up_{channel}")
        db.session.commit()


def wants_person(task_id: int, channel: str, *, now: datetime | None = None) -> str:
    """Asked for a person instead of a score: back to the queue for a supervisor, once."""
    now = now or utcnow()
    follow_up = for_task(task_id)
    if follow_up is None:
        return "missing"
    task = follow_up.task
    if not events.record(
        "callback.follow_up_person",
        session=task.session,
        data={"task_id": task_id, "channel": channel},
        dedupe_key=f"follow-up-person:{task_id}",
    ):
        return "already"
    by = "text" if channel == "sms" else "phone"
    detail = f"Asked for a person on the follow-up by {by}. For a supervisor."
    _back_to_queue(task, "follow_up_person", detail, now)
    return "reopened"


def _back_to_queue(task: CallbackTask, code: str, detail: str, now: datetime) -> None:
    """Reopen the task (or the contact's other open one) at high priority, then commit."""
    start, due = hours.schedule(
        now, sla_minutes=sla_minutes(Priority.HIGH), tz=task_zone(task), window=window()
    )
    reason = {"code": code, "detail": detail, "session_id": task.session_id}
    other = evaluation.open_task(task.contact_id)
    target = other if other is not None and other.id != task.id else task
    reasons = [*target.reasons, reason]
    if target.state in states.REOPENABLE and target is task:
        states.reopen(
            task,
            reason=code,
            priority=int(Priority.HIGH),
            scheduled_for=min(start, task.scheduled_for) if task.closed_at is None else start,
            due_at=min(due, task.due_at) if task.closed_at is None else due,
            reasons=reasons,
        )
    else:
        # Held by an agent now, or another task is the contact's open one: it takes the
        # reason and the priority, and whoever holds it sees them.
        target.reasons = reasons
        target.priority = max(target.priority, int(Priority.HIGH))
        if target.state in states.WAITING:
            target.due_at = min(target.due_at, due)
        events.record(
            "callback.merged",
            session=target.session,
            data={"task_id": target.id, "added": [code], "from_task": task.id},
        )
    db.session.commit()
    if target.state is not TaskState.CLOSED:
        evaluation.schedule_escalation(target)
