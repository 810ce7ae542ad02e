"""The one entry point for callback decisions: a finished survey (keypad answers, then its
read comment) opens, merges or upgrades the contact's task."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import and_

from callbacks import escalation, promise, rules, states, verdicts
from callbacks.models import CallbackTask
from callbacks.policy import S
from callbacks.reading import latest_analysis
from core import contacts, events, queues
from core.db import db, utcnow
from core.models import CallbackRules, CallSession, Contact, Event, QuestionKind

EVALUATED = verdicts.EVALUATED

log = logging.getLogger(__name__)


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


def rules_for(session: CallSession) -> CallbackRules:
    return CallbackRules.from_json(session.survey_version.rules if session.survey_version else None)


def open_task(contact_id: int) -> CallbackTask | None:
    return db.session.scalar(
        db.select(CallbackTask)
        .where(CallbackTask.contact_id == contact_id)
        .where(CallbackTask.closed_at.is_(None))
        .with_for_update()
    )


def evaluate_session(session_id: int, now: datetime | None = None) -> CallbackTask | None:
    """Open, merge into or close the contact's callback task for what this survey said.

    Idempotent: evaluating the same session again (same phase or after the comment was
    analysed) adds only new reasons, and priority and urgency only ever go up.

    Returns:
        The contact's open task after evaluation, or None when there is none.
    """
    now = now or utcnow()
    session = db.session.get(CallSession, session_id, populate_existing=True)
    if session is None:
        log.warning("callback rules: session %s no longer exists", session_id)
        return None
    if session.is_test:  # try-it calls from the dashboard never reach an agent
        return None
    mark = session.retell_owed_at  # read with the row: this verdict reads all it marks
    contact = session.contact or contacts.get_or_create(session.customer_number)
    decision = rules.decide(facts_for(session, contact), rules_for(session))
    phase = "analysis" if latest_analysis(session) else "survey"
    task = open_task(contact.id)
    changed = False
    if decision.blocked is not None:
        if task is not None:
            changed = _close_blocked(task, decision.blocked, session)
    elif decision.wants_task:
        _note_missed_promise(session, now)
        task, changed = _open_or_merge(task, session, contact, decision, now)
    verdict = {
        "phase": phase,
        "task_id": task.id if task else None,
        "reasons": [r.code for r in decision.reasons],
        "blocked": decision.blocked,
    }
    key = f"callback-evaluated:{session.id}:{phase}"
    events.record(EVALUATED, session=session, data=verdict, dedupe_key=key)
    if mark is not None:  # told again of what a turn stored later (``callbacks.verdicts``)
        verdicts.settle(session.id, mark)
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
    phone, zone_name = promise.callee(session, contact)
    # From the promise the caller heard, if any: not from when the call or this job ended.
    scheduled_for, due_at = promise.schedule(session, contact, decision.priority, now)
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


def _judged_before(session: CallSession) -> bool:
    return (
        db.session.scalar(
            db.select(Event.id)
            .where(Event.session_id == session.id)
            .where(Event.kind == EVALUATED)
            .limit(1)
        )
        is not None
    )


def _note_missed_promise(session: CallSession, now: datetime) -> None:
    """First judged after the deadline the caller was told (the job ran late, after an
    outage): the task is still due at that deadline, already past, so it escalates at once;
    the broken promise goes on the record too, so it reads as one and not just a late task."""
    deadline = promise.missed(session, now)
    if deadline is None or _judged_before(session):  # a task opened in time, judged again
        return
    late = int((now - deadline).total_seconds() // 60)
    log.warning(
        "session %s: callback promised by %s, judged %s min later", session.id, deadline, late
    )
    events.record(
        "callback.promise_missed",
        session=session,
        data={
            "promised_by": deadline.isoformat(),
            "judged_at": now.isoformat(),
            "minutes_late": late,
        },
        dedupe_key=f"callback-promise-missed:{session.id}",
    )


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
    if _chosen_after_opening(task, session):
        # The hang-up opened this call's task before its "when" turn was stored: the task
        # takes the time the caller chose, which is never after what they heard (schedule).
        task.preference = session.callback_preference
        task.scheduled_for, task.due_at = scheduled_for, due_at
        changed = True
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


def _chosen_after_opening(task: CallbackTask, session: CallSession) -> bool:
    """The caller chose when to be called after this task, theirs alone, was opened and
    before anyone started calling (other calls' tasks only ever move earlier)."""
    return (
        task.session_id == session.id
        and all(r.get("session_id") == session.id for r in task.reasons)
        and task.state in states.WAITING
        and session.callback_preference is not None
        and session.callback_preference != task.preference
    )


def schedule_escalation(task: CallbackTask) -> None:
    """After commit: the escalation job at the due time (the sweep is the safety net)."""
    try:
        escalation.schedule(task)
    except RedisError:
        log.exception("could not schedule escalation of task %s; the sweep will", task.id)


def on_survey_finished(session_id: int) -> None:
    """Called by the survey flow once the finished session is committed.

    Keypad rules need no transcript, so they run right here (a few queries): the task
    exists before the caller has even heard the goodbye. If that fails for any reason the
    caller is not affected: the same evaluation is enqueued as a job on the high queue
    (and the periodic sweep evaluates any finished survey that still has no verdict, or
    says more than its verdict saw: ``callbacks.verdicts``).
    ``CALLBACK_EVALUATE_INLINE=False`` always uses the job instead.
    """
    if not current_app.config["CALLBACK_EVALUATE_INLINE"]:
        enqueue_evaluation(session_id)
        return
    try:
        evaluate_session(session_id)
    except Exception:
        db.session.rollback()
        log.exception("callback rules failed inline for session %s; enqueuing", session_id)
        enqueue_evaluation(session_id)


def enqueue_evaluation(session_id: int) -> None:
    """Evaluate a session on the worker (high queue); one job per session at a time."""
    queues.enqueue("evaluate_callbacks", session_id, job_id=f"callback-evaluate-{session_id}")
