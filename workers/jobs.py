"""Every RQ job: plain functions taking ids, each in its own app context, safe to run twice.

Queue, timeout and retries are declared once in ``core.queues.JOBS``; the domains enqueue
these by name. This module sits at the top and wires the domains together.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from twilio.base.exceptions import TwilioRestException

from callbacks import dialing, escalation, evaluation, followup, sweep
from core import queues
from core.models import Recording
from ivr import followup_voice, outbound
from texts import consent as text_consent
from texts import conversations, stranded
from texts import followup as text_follow_up
from themes import alerts, assign, store
from transcription import batching, pipeline, retention
from workers.context import job_context

log = logging.getLogger(__name__)


def process_recording(recording_id: int) -> str:
    """Download, transcribe and read a comment, with the ones queued behind it decoded in
    the same batch (``transcription.batching``); each read comment goes to the callback
    rules at once."""
    with job_context():
        read: list[int] = []

        def comment_read(rec: Recording) -> None:
            evaluation.evaluate_session(rec.session_id)
            read.append(rec.id)

        rec = batching.process_with_queued(recording_id, then=comment_read)
        if read:  # the batch's comments join their themes in one pass, off this queue
            queues.enqueue("assign_themes")
        return "missing" if rec is None else rec.status.value


def evaluate_callbacks(session_id: int) -> int | None:
    """Run the callback rules for a finished survey; returns the open task's id."""
    with job_context():
        task = evaluation.evaluate_session(session_id)
        return task.id if task is not None else None


def place_call(attempt_id: int) -> str:
    """Ring the agent for a click-to-call attempt (never twice for one attempt)."""
    with job_context():
        return dialing.place_call_now(attempt_id)


def escalate_task(task_id: int, held_back: str | None = None) -> bool:
    """At the SLA deadline: escalate unless the task was connected or moved meanwhile; or
    (``held_back``, ISO 8601) a deadline a connected call held back and reached no one."""
    deadline = None if held_back is None else datetime.fromisoformat(held_back)
    with job_context():
        return escalation.escalate_if_due(task_id, held_back=deadline)


def place_survey_request(request_id: int) -> str:
    """At the callee's calling hours: ring a kept survey request if we still may."""
    with job_context():
        return outbound.place_scheduled(request_id)


def sweep_survey_requests() -> dict[str, int]:
    """Periodic: survey requests whose time came and whose job is gone."""
    with job_context():
        return outbound.sweep()


def sweep_recordings() -> int:
    """Periodic: enqueue ready recordings with no live job."""
    with job_context():
        return pipeline.sweep()


def sweep_callbacks() -> dict[str, Any]:
    """Periodic: the callback safety net."""
    with job_context():
        return sweep.sweep()


def send_follow_up(task_id: int) -> str:
    """After a callback that reached the customer: "did we put it right?", once per task.

    By text where the customer allowed texts, else (or when the text could not go) a
    one-question call. ``callbacks.followup`` decides whether and when; this job only picks
    the channel, since texts sit above callbacks.
    """
    with job_context():
        outgoing = followup.begin(task_id)
        if isinstance(outgoing, str):
            return outgoing
        if text_consent.may_text(outgoing.number):
            message = text_follow_up.send(outgoing.number, task_id, outgoing.at)
            if message is not None and not message.failed:
                followup.mark_sent(task_id, "sms", message.sid)
                return "sms"
        try:
            sid = followup_voice.place_call(task_id, outgoing.number)
        except TwilioRestException as exc:
            followup.mark_failed(task_id, f"Twilio refused the call: {exc.msg}")
            return "failed"
        followup.mark_sent(task_id, "voice", sid)
        return "voice"


def sweep_follow_ups() -> int:
    """Periodic: send due follow-ups whose job was lost; fail ones lost mid-send."""
    with job_context():
        due = followup.sweep()
    return sum(send_follow_up(task_id) in ("sms", "voice") for task_id in due)


def purge_expired_recordings() -> int:
    """Periodic: apply the recording retention period."""
    with job_context():
        return retention.purge_expired()


def expire_text_conversations() -> int:
    """Periodic: text exchanges nobody answered in time end (a text survey as partial)."""
    with job_context():
        return conversations.expire()


def answer_stranded_texts() -> int:
    """Periodic: texts stored but never answered (the web process died) are answered."""
    with job_context():
        return stranded.sweep()


def assign_themes() -> dict[str, int]:
    """After analysis, and periodic: new comments join a theme or start one."""
    with job_context():
        try:
            return asdict(assign.assign_new())
        except store.Busy:  # another run holds the lock and the next one reads what is left
            return {"busy": 1}


def alert_rising_themes() -> int:
    """Periodic: tell supervisors of themes rising this week (once per theme per week)."""
    with job_context():
        return len(alerts.alert_rising())
