"""Callback domain: evaluate a finished survey, and the agent's moves on a task.

Handlers (console, API, Twilio webhooks, jobs) call these functions and nothing else
changes a task. Times are timezone-aware UTC; ``now`` can be injected for tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import and_
from sqlalchemy.orm import selectinload

from callbacks import hours, rules, states
from callbacks.models import CallbackAttempt, CallbackTask, Priority, TaskState
from ivr import contacts, events
from ivr.db import db, utcnow
from ivr.models import Answer, CallSession, Contact, QuestionKind, Recording, Role, User
from transcription.analysis import CommentAnalysis

log = logging.getLogger(__name__)

S = TaskState
OUTCOMES = {
    "resolved": "Resolved",
    "follow_up": "Follow-up needed",
    "voicemail": "Voicemail",
    "no_answer": "No answer",
    "wrong_number": "Wrong number",
    "declined": "Declined",
}
FINAL_OUTCOMES = {"resolved", "wrong_number", "declined"}
UNREACHED_OUTCOMES = {"voicemail", "no_answer"}
DEFAULT_BACKOFF_MINUTES = (30, 120, 1440)
PREFERENCE_WORDS = {
    "now": "as soon as possible",
    "later_today": "later today",
    "tomorrow": "tomorrow",
}


class ActionRefused(Exception):
    """The agent's action cannot be done; the message says why, for people."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


# --- configuration ------------------------------------------------------------------------


def window() -> hours.Window:
    return hours.Window.parse(current_app.config.get("CALLING_HOURS", "08:00-21:00"))


def task_zone(task: CallbackTask) -> ZoneInfo:
    return hours.zone(task.timezone, current_app.config.get("DEFAULT_TIMEZONE", "UTC"))


def max_attempts() -> int:
    return int(current_app.config.get("CALLBACK_MAX_ATTEMPTS", 3))


def backoff(attempts: int) -> timedelta:
    steps = current_app.config.get("CALLBACK_BACKOFF_MINUTES", DEFAULT_BACKOFF_MINUTES)
    return timedelta(minutes=steps[min(max(attempts - 1, 0), len(steps) - 1)])


def sla_minutes(priority: int) -> int:
    key = "URGENT_SLA_MINUTES" if priority >= Priority.URGENT else "STANDARD_SLA_MINUTES"
    return int(current_app.config.get(key, 10 if priority >= Priority.URGENT else 60))


# --- evaluation ---------------------------------------------------------------------------


def latest_analysis(session: CallSession) -> tuple[Recording, CommentAnalysis] | None:
    analysed = [r for r in session.recordings if r.analysis]
    if not analysed:
        return None
    rec = analysed[-1]
    assert rec.analysis is not None
    return rec, CommentAnalysis.from_dict(rec.analysis)


def facts_for(session: CallSession, contact: Contact) -> rules.Facts:
    flags: dict[str, tuple[str, ...]] = {}
    found = latest_analysis(session)
    if found is not None:
        analysis = found[1]
        flags = {name: analysis.labels[name].phrases for name in analysis.flagged()}
    return rules.Facts(
        scores=tuple(
            rules.Score(
                a.question.key,
                a.value,
                a.question.low_threshold,
                yes_no=a.question.kind is QuestionKind.YES_NO,
            )
            for a in session.answers
        ),
        asked_for_human=session.asked_for_human,
        transferred=session.transferred,
        wants_callback=bool(session.wants_callback),
        opted_out=session.opted_out or contact.opted_out_at is not None,
        do_not_call=contact.do_not_call_at is not None,
        comment_flags=flags,
    )


def rules_for(session: CallSession) -> dict[str, Any]:
    from ivr.seed import DEFAULT_RULES

    version_rules = session.survey_version.rules if session.survey_version else None
    return {**DEFAULT_RULES, **(version_rules or {})}


def open_task(contact_id: int) -> CallbackTask | None:
    return db.session.scalar(
        db.select(CallbackTask)
        .where(CallbackTask.contact_id == contact_id)
        .where(CallbackTask.closed_at.is_(None))
        .with_for_update()
    )


def _phone_and_zone(session: CallSession, contact: Contact) -> tuple[str, str]:
    phone = session.callback_number or contact.callback_phone or contact.phone
    zone = (
        contacts.guess_timezone(phone)
        or contact.timezone
        or current_app.config.get("DEFAULT_TIMEZONE", "UTC")
    )
    return phone, zone


def evaluate_session(session_id: int, now: datetime | None = None) -> CallbackTask | None:
    """Open, merge into or close the contact's callback task for what this survey said.

    Idempotent: evaluating the same session again (same phase or after the comment was
    analysed) adds only new reasons, and priority and urgency only ever go up.

    Returns:
        The contact's open task after evaluation, or None when there is none.
    """
    now = now or utcnow()
    session = db.session.get(CallSession, session_id)
    if session is None:
        log.warning("callback rules: session %s no longer exists", session_id)
        return None
    if session.is_test:  # try-it calls from the dashboard never reach an agent
        return None
    contact = session.contact or contacts.get_or_create(session.customer_number)
    decision = rules.decide(facts_for(session, contact), rules_for(session), current_app.config)
    phase = "analysis" if latest_analysis(session) else "survey"
    task = open_task(contact.id)
    changed = False
    if decision.blocked is not None:
        if task is not None:
            changed = _close_blocked(task, decision.blocked, session)
    elif decision.wants_task:
        task, changed = _open_or_merge(task, session, contact, decision, now)
    events.record(
        "callback.evaluated",
        session=session,
        data={
            "phase": phase,
            "task_id": task.id if task else None,
            "reasons": [r.code for r in decision.reasons],
            "blocked": decision.blocked,
        },
        dedupe_key=f"callback-evaluated:{session.id}:{phase}",
    )
    db.session.commit()
    if task is not None and changed and task.closed_at is None:
        schedule_escalation(task)
    return task if task is not None and task.closed_at is None else None


def _close_blocked(task: CallbackTask, blocked: str, session: CallSession) -> bool:
    """Opt-out / do-not-call from a later survey: close the task unless a call is under way."""
    if task.state not in (*states.WAITING, S.CLAIMED):
        return False
    states.move(task, S.CLOSED, reason=f"{blocked} (session {session.id})", outcome=blocked)
    return True


def _open_or_merge(
    task: CallbackTask | None,
    session: CallSession,
    contact: Contact,
    decision: rules.Decision,
    now: datetime,
) -> tuple[CallbackTask, bool]:
    phone, zone_name = _phone_and_zone(session, contact)
    start = session.ended_at if session.ended_at and session.ended_at <= now else now
    scheduled_for, due_at = hours.schedule(
        start,
        sla_minutes=decision.sla_minutes,
        tz=hours.zone(zone_name, current_app.config.get("DEFAULT_TIMEZONE", "UTC")),
        window=window(),
        preference=session.callback_preference,
    )
    reasons = [r.as_dict(session.id) for r in decision.reasons]
    # Consent is stamped when the consenting survey is evaluated (also after its comment is
    # analysed), so an opt-out said in the same call never outlives it, while an opt-out
    # from a later call (stamped after) blocks the dial.
    consent_at = now if decision.consent else None
    if task is None:
        fresh = CallbackTask(
            session_id=session.id,
            contact_id=contact.id,
            state=S.OPEN,
            priority=int(decision.priority),
            reasons=reasons,
            phone=phone,
            timezone=zone_name,
            preference=session.callback_preference,
            consent_at=consent_at,
            scheduled_for=scheduled_for,
            due_at=due_at,
        )
        task = events.insert_or_get(
            fresh, and_(CallbackTask.contact_id == contact.id, CallbackTask.closed_at.is_(None))
        )
        if task is fresh:
            events.record(
                "callback.created",
                session=session,
                data={"task_id": task.id, "reasons": [r["code"] for r in reasons]},
            )
            log.info("callback task %s opened for session %s", task.id, session.id)
            return task, True
    return task, _merge(task, session, decision, reasons, scheduled_for, due_at, consent_at)


def _merge(
    task: CallbackTask,
    session: CallSession,
    decision: rules.Decision,
    reasons: list[dict[str, Any]],
    scheduled_for: datetime,
    due_at: datetime,
    consent_at: datetime | None,
) -> bool:
    known = {(r["code"], r.get("session_id")) for r in task.reasons}
    added = [r for r in reasons if (r["code"], r["session_id"]) not in known]
    changed = bool(added)
    if added:
        task.reasons = [*task.reasons, *added]
    if decision.priority > task.priority:
        task.priority = int(decision.priority)
        changed = True
    if due_at < task.due_at:
        task.due_at = due_at
        changed = True
    if scheduled_for < task.scheduled_for and task.state in states.WAITING:
        task.scheduled_for = scheduled_for
    if consent_at is not None and (task.consent_at is None or consent_at > task.consent_at):
        task.consent_at = consent_at
    if session.callback_number and session.callback_number != task.phone:
        task.phone = session.callback_number
        changed = True
    if changed:
        events.record(
            "callback.merged",
            session=session,
            data={"task_id": task.id, "added": [r["code"] for r in added]},
        )
    return changed


def schedule_escalation(task: CallbackTask) -> None:
    """After commit: the escalation job at the due time (the sweep is the safety net)."""
    from callbacks import escalation

    try:
        escalation.schedule(task)
    except RedisError:
        log.exception("could not schedule escalation of task %s; the sweep will", task.id)


# --- agent actions ------------------------------------------------------------------------


def get_task(task_id: int) -> CallbackTask:
    task = db.session.get(CallbackTask, task_id)
    if task is None:
        raise ActionRefused("not_found", f"there is no callback task {task_id}", 404)
    return task


def _holder(task: CallbackTask) -> str:
    user = task.claimed_by
    return (user.name or user.email) if user else "another agent"


def claim(task_id: int, agent: User) -> CallbackTask:
    """Take a waiting task; of two agents clicking at once exactly one wins."""
    task = get_task(task_id)
    try:
        states.move(
            task,
            S.CLAIMED,
            actor_id=agent.id,
            allowed_from=states.CLAIMABLE,
            claimed_by_id=agent.id,
            claimed_at=utcnow(),
        )
    except states.Conflict:
        db.session.rollback()
        db.session.refresh(task)
        if task.claimed_by_id == agent.id and task.state is S.CLAIMED:
            return task
        raise ActionRefused(
            "already_claimed",
            f"Task {task.id} was already taken by {_holder(task)} ({task.state.value}).",
        ) from None
    db.session.commit()
    return task


def _require_holder(task: CallbackTask, agent: User) -> None:
    if task.claimed_by_id != agent.id and agent.role is Role.AGENT:
        raise ActionRefused("not_yours", f"Task {task.id} is held by {_holder(task)}.", 403)


def release(task_id: int, agent: User) -> CallbackTask:
    """Hand a claimed task back to the queue."""
    task = get_task(task_id)
    _require_holder(task, agent)
    target = S.ESCALATED if task.escalated_at is not None else S.OPEN
    try:
        states.move(
            task,
            target,
            actor_id=agent.id,
            reason="released",
            allowed_from=(S.CLAIMED,),
            claimed_by_id=None,
            claimed_at=None,
        )
    except (states.Conflict, states.InvalidTransition):
        db.session.rollback()
        raise ActionRefused(
            "bad_state", f"Only a claimed task can be released (it is {task.state.value})."
        ) from None
    db.session.commit()
    return task


def reschedule(task_id: int, agent: User, at: datetime, *, reason: str = "rescheduled") -> None:
    """Put the task back in the queue for ``at`` (moved into calling hours)."""
    task = get_task(task_id)
    if task.state not in states.WAITING:
        _require_holder(task, agent)
    _schedule_retry(task, at, actor_id=agent.id, reason=reason)
    db.session.commit()
    schedule_escalation(task)


def _schedule_retry(
    task: CallbackTask, at: datetime, *, actor_id: int | None, reason: str, **values: Any
) -> None:
    if at.tzinfo is None:
        raise ActionRefused("bad_request", "the new time must include a time zone", 400)
    start, due = hours.schedule(
        at, sla_minutes=sla_minutes(task.priority), tz=task_zone(task), window=window()
    )
    try:
        states.move(
            task,
            S.RETRY_SCHEDULED,
            actor_id=actor_id,
            reason=reason,
            scheduled_for=start,
            due_at=due,
            claimed_by_id=None,
            claimed_at=None,
            **values,
        )
    except states.InvalidTransition:
        raise ActionRefused(
            "bad_state", f"A task that is {task.state.value} cannot be rescheduled now."
        ) from None
    except states.Conflict:
        db.session.rollback()
        raise ActionRefused("conflict", "The task changed meanwhile; reload it.") from None


def record_outcome(
    task_id: int,
    agent: User,
    outcome: str,
    notes: str = "",
    *,
    retry_at: datetime | None = None,
    now: datetime | None = None,
) -> CallbackTask:
    """The agent's verdict after a call: close, schedule a retry, or give up at the cap."""
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise ActionRefused("bad_request", f"outcome must be one of {', '.join(OUTCOMES)}", 400)
    task = get_task(task_id)
    _require_holder(task, agent)
    if task.state not in states.AGENT_HELD:
        raise ActionRefused("bad_state", f"The task is {task.state.value}; claim it first.")
    notes_text = "\n".join(n for n in (task.notes, notes.strip()) if n) or None
    _stamp_last_attempt(task, outcome)
    reached_cap = outcome in UNREACHED_OUTCOMES and task.attempts_count >= max_attempts()
    try:
        if outcome in FINAL_OUTCOMES or reached_cap:
            why = f"gave up after {task.attempts_count} attempts" if reached_cap else outcome
            states.move(
                task, S.CLOSED, actor_id=agent.id, reason=why, outcome=outcome, notes=notes_text
            )
        else:
            at = retry_at or now + (
                backoff(task.attempts_count) if outcome in UNREACHED_OUTCOMES else timedelta(days=1)
            )
            _schedule_retry(
                task, at, actor_id=agent.id, reason=outcome, outcome=outcome, notes=notes_text
            )
    except states.Conflict:
        db.session.rollback()
        raise ActionRefused("conflict", "The task changed meanwhile; reload it.") from None
    db.session.commit()
    if task.closed_at is None:
        schedule_escalation(task)
    return task


def _stamp_last_attempt(task: CallbackTask, outcome: str) -> None:
    attempt = task.attempts[-1] if task.attempts else None
    if attempt is not None and attempt.outcome is None:
        attempt.outcome = outcome


# --- reading --------------------------------------------------------------------------------


def queue(states_filter: tuple[TaskState, ...] = states.ACTIVE) -> list[CallbackTask]:
    """Tasks by priority (highest first), then due time (soonest first)."""
    return list(
        db.session.scalars(
            db.select(CallbackTask)
            .where(CallbackTask.state.in_(states_filter))
            .options(selectinload(CallbackTask.claimed_by))
            .order_by(CallbackTask.priority.desc(), CallbackTask.due_at, CallbackTask.id)
        )
    )


def _session_ids(task: CallbackTask) -> set[int]:
    ids = {r.get("session_id") for r in task.reasons} | {task.session_id}
    return {i for i in ids if i is not None}


def sessions_for_tasks(tasks: list[CallbackTask]) -> dict[int, list[CallSession]]:
    """Each task's survey calls, oldest first, with answers and recordings: one round trip
    for the whole list, since the queue is polled by every agent every few seconds."""
    wanted = {task.id: _session_ids(task) for task in tasks}
    all_ids = set().union(*wanted.values()) if wanted else set()
    loaded = (
        {
            s.id: s
            for s in db.session.scalars(
                db.select(CallSession)
                .where(CallSession.id.in_(all_ids))
                .options(
                    selectinload(CallSession.answers).selectinload(Answer.question),
                    selectinload(CallSession.recordings),
                )
            )
        }
        if all_ids
        else {}
    )
    return {
        task_id: [loaded[i] for i in sorted(ids) if i in loaded] for task_id, ids in wanted.items()
    }


def task_sessions(task: CallbackTask) -> list[CallSession]:
    """The survey calls that gave this task its reasons, oldest first."""
    return sessions_for_tasks([task])[task.id]


def scores(sessions: list[CallSession]) -> dict[str, int | None]:
    """Answers by question key; a later call's answer wins."""
    found: dict[str, int | None] = {}
    for session in sessions:
        for answer in session.answers:
            found[answer.question.key] = answer.value
    return found


def comment(sessions: list[CallSession]) -> tuple[Recording | None, CommentAnalysis | None]:
    """The latest recorded comment and its analysis, if any."""
    for session in reversed(sessions):
        found = latest_analysis(session)
        if found is not None:
            return found
        with_text = [r for r in session.recordings if r.transcript]
        if with_text:
            return with_text[-1], None
    return None, None


@dataclass(frozen=True)
class Segment:
    text: str
    label: str | None  # flagged label for highlighted phrases


def highlighted(analysis: CommentAnalysis) -> list[Segment]:
    """The transcript cut into plain and flagged pieces (spans from the analysis)."""
    marks: list[tuple[int, int, str]] = []
    for name in analysis.flagged():
        marks.extend((s, e, name) for s, e in analysis.labels[name].spans)
    marks.sort()
    pieces: list[Segment] = []
    pos = 0
    for start, end, name in marks:
        if start < pos:
            continue  # overlapping labels: the first one keeps the phrase
        if start > pos:
            pieces.append(Segment(analysis.text[pos:start], None))
        pieces.append(Segment(analysis.text[start:end], name))
        pos = end
    if pos < len(analysis.text):
        pieces.append(Segment(analysis.text[pos:], None))
    return pieces


def history(task: CallbackTask) -> tuple[list[CallSession], list[CallbackTask]]:
    """The contact's earlier survey calls and callback tasks, newest first."""
    calls = db.session.scalars(
        db.select(CallSession)
        .where(CallSession.contact_id == task.contact_id)
        .order_by(CallSession.id.desc())
        .limit(20)
    ).all()
    tasks = db.session.scalars(
        db.select(CallbackTask)
        .where(CallbackTask.contact_id == task.contact_id)
        .where(CallbackTask.id != task.id)
        .order_by(CallbackTask.id.desc())
        .limit(20)
    ).all()
    return list(calls), list(tasks)


def last_attempt(task: CallbackTask) -> CallbackAttempt | None:
    return task.attempts[-1] if task.attempts else None


def local_time(task: CallbackTask, at: datetime) -> datetime:
    return at.astimezone(task_zone(task))
