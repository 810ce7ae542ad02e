"""Click-to-call: ring the agent's phone, then bridge to the customer from our number.

Order of writes, so that a timeout can never produce a second call:

1. ``start_call`` commits the attempt as ``dialing`` (task ``dialing``) and enqueues
   ``place_call``; a second click finds the task already dialing and is refused.
2. ``place_call`` stamps ``create_started_at`` with a conditional UPDATE (one winner even
   if the job runs twice), commits, and only then calls ``calls.create``. A timeout
   leaves the attempt ``dialing``: Twilio's callbacks (keyed by the attempt id in their
   URL) settle it, or the sweep marks it ``unknown`` after a while. It is never retried.
3. Status callbacks move the attempt forward only (conditional UPDATE on the rank), each
   deduplicated with ``core.events.record``. A real attempt (the customer's phone was rung
   and we know how it ended) increments ``attempts_count`` exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

from callbacks import actions, policy, reading, states
from callbacks.models import AttemptStatus, CallbackAttempt, CallbackTask, TaskState
from core import contacts, events, forward, queues, reachability
from core.db import db, utcnow
from core.models import User
from core.twilio_rest import public_url, twilio_client

log = logging.getLogger(__name__)

A, S = AttemptStatus, TaskState
BASE = "/twilio/voice/callbacks/attempts"
STALE_DIAL = timedelta(minutes=10)
CUSTOMER_FINAL = {
    "completed": A.COMPLETED,
    "no-answer": A.NO_ANSWER,
    "busy": A.BUSY,
    "failed": A.FAILED,
    "canceled": A.NO_ANSWER,  # the agent hung up while the customer's phone rang
}
TASK_AFTER = {
    A.COMPLETED: S.COMPLETED,
    A.NO_ANSWER: S.NO_ANSWER,
    A.BUSY: S.NO_ANSWER,
    A.FAILED: S.FAILED,
}


class DialRefused(actions.ActionRefused):
    """The callback must not be dialled now."""


def url(attempt_id: int, leaf: str) -> str:
    return public_url(f"{BASE}/{attempt_id}/{leaf}")


# --- checks -----------------------------------------------------------------------------------


def reach_block(task: CallbackTask, now: datetime | None = None) -> DialRefused | None:
    """May the customer be called at ``now``? ``core.reachability``, read fresh each time.

    Dialling policy, do-not-call, opt-out (unless the caller asked for this callback after
    opting out) and the customer's calling hours, for the number we dial; do-not-call and
    opt-out for the contact's own number too, when the caller gave us another one.
    """
    now = now or utcnow()
    refusal = reachability.check(
        task.phone,
        channel=reachability.Channel.CALLBACK,
        now=now,
        consent_at=task.consent_at,
        tz=policy.task_zone(task),
    )
    own = task.contact.phone
    if refusal is None and own != task.phone and own != contacts.ERASED:
        refusal = reachability.suppression_refusal(own, consent_at=task.consent_at)
    return None if refusal is None else DialRefused(refusal.code, refusal.message)


def check_dialable(task: CallbackTask, agent: User, now: datetime) -> None:
    """Before the call is offered to Twilio: the task is the agent's to dial, and the
    customer may be called now (checked again when the job dials, and when the agent
    answers and the customer's leg is placed)."""
    if task.state is not S.CLAIMED:
        if task.state is S.DIALING:
            raise DialRefused("already_dialing", "A call for this task is already being placed.")
        raise DialRefused("bad_state", f"Claim the task first (it is {task.state.value}).")
    if task.claimed_by_id != agent.id:
        raise DialRefused("not_yours", "Another agent holds this task.", 403)
    if not agent.phone:
        raise DialRefused("no_agent_phone", "Your profile has no phone number to ring first.")
    if task.attempts_count >= policy.max_attempts():
        raise DialRefused(
            "max_attempts", f"This customer was already called {task.attempts_count} times."
        )
    blocked = reach_block(task, now)
    if blocked is not None:
        raise blocked
    if now < task.scheduled_for:
        when = reading.local_time(task, task.scheduled_for)
        raise DialRefused(
            "not_yet",
            f"The customer asked to be called from {when:%a %H:%M} ({policy.task_zone(task).key}).",
        )


# --- placing the call -------------------------------------------------------------------------


def start_call(task_id: int, agent: User, now: datetime | None = None) -> CallbackAttempt:
    """Commit the attempt as dialing, then hand the Twilio request to the worker."""
    now = now or utcnow()
    task = actions.get_task(task_id)
    check_dialable(task, agent, now)
    attempt = CallbackAttempt(
        task_id=task.id,
        agent_id=agent.id,
        status=A.DIALING,
        to_number=task.phone,
        agent_number=agent.phone or "",
    )
    db.session.add(attempt)
    db.session.flush()
    try:
        states.move(
            task,
            S.DIALING,
            actor_id=agent.id,
            reason=f"attempt {attempt.id}",
            allowed_from=(S.CLAIMED,),
            first_attempt_at=task.first_attempt_at or now,
        )
    except states.Conflict:
        db.session.rollback()
        raise DialRefused("conflict", "The task changed meanwhile; reload it.") from None
    db.session.commit()
    enqueue_placement(attempt.id)
    return attempt


def enqueue_placement(attempt_id: int) -> None:
    try:
        queues.enqueue("place_call", attempt_id, job_id=f"callback-dial-{attempt_id}")
    except RedisError:
        log.exception("Redis unavailable: placing callback attempt %s inline", attempt_id)
        place_call_now(attempt_id)


def place_call_now(attempt_id: int, now: datetime | None = None) -> str:
    """Ask Twilio to ring the agent; at most once per attempt, whatever happens."""
    started = db.session.execute(
        update(CallbackAttempt)
        .where(CallbackAttempt.id == attempt_id)
        .where(CallbackAttempt.create_started_at.is_(None))
        .where(CallbackAttempt.status == A.DIALING)
        .values(create_started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if started.rowcount != 1:  # type: ignore[attr-defined]
        return "already_started"
    attempt = db.session.get(CallbackAttempt, attempt_id)
    assert attempt is not None
    blocked = reach_block(attempt.task, now)  # the moment of dialling: hours, DNC, opt-out
    if blocked is not None:
        _not_placed(attempt, str(blocked))
        return "not_placed"
    cfg = current_app.config
    try:
        call = twilio_client().calls.create(
            to=attempt.agent_number,
            from_=cfg["TWILIO_PHONE_NUMBER"],
            url=url(attempt.id, "bridge"),
            method="POST",
            status_callback=url(attempt.id, "agent-status"),
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            status_callback_method="POST",
            timeout=int(cfg["CALLBACK_AGENT_RING_SECONDS"]),
        )
    except TwilioRestException as exc:
        _not_placed(attempt, f"Twilio refused the call: {exc.msg}")
        return "not_placed"
    except Exception as exc:  # timeout or connection error: the call may exist
        log.exception("calls.create for attempt %s did not answer", attempt.id)
        attempt.error = f"Twilio did not answer ({type(exc).__name__}); not retried"
        db.session.commit()
        return "unknown"
    attempt.agent_call_sid = call.sid
    db.session.commit()
    return "placed"


def _not_placed(attempt: CallbackAttempt, why: str) -> None:
    attempt.error = why
    if advance(attempt, A.NOT_PLACED):
        _task_back_to_agent(attempt.task, why)
    db.session.commit()


def _task_back_to_agent(task: CallbackTask, why: str) -> None:
    try:
        states.move(task, S.CLAIMED, reason=why, allowed_from=(S.DIALING,))
    except states.Conflict:
        log.info("task %s was no longer dialing (%s)", task.id, why)


# --- Twilio callbacks --------------------------------------------------------------------------


def advance(
    attempt: CallbackAttempt,
    status: AttemptStatus,
    *,
    from_: tuple[AttemptStatus, ...] = tuple(AttemptStatus),
    **values: object,
) -> bool:
    """Move the attempt forward only (and only from ``from_``, checked against the row as
    written); True if this call did it (once, even under races)."""
    if status.is_final:
        values.setdefault("ended_at", utcnow())
    return forward.move_forward(
        CallbackAttempt.status,
        CallbackAttempt.id == attempt.id,
        status,
        among=from_,
        rank=lambda s: s.rank,
        copy=attempt,
        values=values,
    )


def _fresh(attempt: CallbackAttempt, leg: str, status: str) -> bool:
    return events.record(
        "callback.call_status",
        session=attempt.task.session,
        data={"task_id": attempt.task_id, "attempt_id": attempt.id, "leg": leg, "status": status},
        dedupe_key=f"callback-attempt:{attempt.id}:{leg}:{status}",
    )


def get_attempt(attempt_id: int) -> CallbackAttempt | None:
    return db.session.get(CallbackAttempt, attempt_id)


def bridge_twiml(attempt: CallbackAttempt) -> VoiceResponse:
    """What the agent hears on answering, then the <Dial> to the customer."""
    response = VoiceResponse()
    blocked = reach_block(attempt.task)  # the customer's leg is placed only now
    if blocked is not None or attempt.status.is_final:
        why = str(blocked) if blocked else "This callback was cancelled."
        if blocked is not None:
            _not_placed(attempt, why)
        response.say(f"This callback was stopped. {why}")
        response.hangup()
        return response
    if advance(attempt, A.AGENT_ANSWERED, answered_at=utcnow()):
        db.session.commit()
    reasons = ", ".join(r["code"].replace("_", " ") for r in attempt.task.reasons[:3])
    response.say(f"Connecting you to the customer now. Reasons: {reasons}.")
    dial = response.dial(
        caller_id=current_app.config["TWILIO_PHONE_NUMBER"],
        action=url(attempt.id, "dial-ended"),
        method="POST",
        timeout=30,
    )
    dial.number(
        attempt.to_number,
        status_callback=url(attempt.id, "customer-status"),
        status_callback_event="initiated ringing answered completed",
        status_callback_method="POST",
    )
    return response


def agent_leg_status(attempt: CallbackAttempt, status: str) -> None:
    if not _fresh(attempt, "agent", status):
        db.session.commit()
        return
    if status == "ringing":
        advance(attempt, A.AGENT_RINGING)
    elif status == "in-progress":
        advance(attempt, A.AGENT_ANSWERED, answered_at=utcnow())
    elif status in CUSTOMER_FINAL:
        # Where the attempt was is checked by each UPDATE, not on the copy read before:
        # the customer may have answered meanwhile (the agent hung up as they did).
        unreached = (A.DIALING, A.AGENT_RINGING)
        if advance(attempt, A.AGENT_UNREACHED, from_=unreached, error=f"agent's phone: {status}"):
            _task_back_to_agent(attempt.task, "agent did not answer")
        elif advance(
            attempt,
            A.NOT_PLACED,
            from_=(A.AGENT_ANSWERED,),
            error="agent hung up before the customer was reached",
        ):
            _task_back_to_agent(attempt.task, "customer leg never started")
        elif attempt.status is A.CONNECTED:  # as the last UPDATE left it
            customer_leg_status(attempt, "completed", None, None, dedupe=False)
    db.session.commit()


def customer_leg_status(
    attempt: CallbackAttempt,
    status: str,
    call_sid: str | None,
    duration: str | None,
    *,
    dedupe: bool = True,
) -> None:
    """The customer's leg (``<Number statusCallback>`` or the Dial action)."""
    if dedupe and not _fresh(attempt, "customer", status):
        db.session.commit()
        return
    if call_sid and attempt.customer_call_sid is None:
        attempt.customer_call_sid = call_sid
    task = attempt.task
    if status == "in-progress":
        if advance(attempt, A.CONNECTED, answered_at=utcnow()):
            _move_task(task, S.CONNECTED, (S.DIALING,), f"attempt {attempt.id} connected")
    elif status in CUSTOMER_FINAL:
        final = CUSTOMER_FINAL[status]
        seconds = int(duration) if duration and duration.isdigit() else None
        if advance(attempt, final, counted=True, duration_seconds=seconds):
            _count(task)
            _move_task(
                task, TASK_AFTER[final], (S.DIALING, S.CONNECTED), f"attempt {attempt.id}: {status}"
            )
    db.session.commit()


def _count(task: CallbackTask) -> None:
    db.session.execute(
        update(CallbackTask)
        .where(CallbackTask.id == task.id)
        .values(attempts_count=CallbackTask.attempts_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(task)


def _move_task(
    task: CallbackTask, target: TaskState, sources: tuple[TaskState, ...], why: str
) -> None:
    sources = tuple(s for s in sources if states.can_move(s, target))
    if task.state not in sources:
        return
    try:
        states.move(task, target, reason=why, allowed_from=sources)
    except (states.Conflict, states.InvalidTransition):
        log.info("task %s not moved to %s: it changed meanwhile", task.id, target.value)


def settle_stale(now: datetime) -> int:
    """Attempts stuck before the customer leg (no callback ever came) become ``unknown``."""
    stale = db.session.scalars(
        db.select(CallbackAttempt)
        .where(CallbackAttempt.status.in_((A.DIALING, A.AGENT_RINGING, A.AGENT_ANSWERED)))
        .where(CallbackAttempt.created_at < now - STALE_DIAL)
    ).all()
    settled = 0
    for attempt in stale:
        if advance(attempt, A.UNKNOWN, error=attempt.error or "no word from Twilio"):
            _task_back_to_agent(attempt.task, f"attempt {attempt.id} never reported back")
            settled += 1
        db.session.commit()
    return settled
