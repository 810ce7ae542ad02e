"""SLA escalation: a job at the due time, re-checked when it runs, and notifications.

Supervisors are told through ``ESCALATION_WEBHOOK_URL`` (JSON POST), and also by SMS to
``ESCALATION_SMS_TO`` and e-mail to ``ESCALATION_EMAIL_TO`` (via ``SMTP_HOST``) when set.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import requests
from flask import current_app

from callbacks import states
from callbacks.models import CallbackTask, Priority, TaskState
from core import events, queues
from core.db import db, utcnow
from core.twilio_rest import twilio_client

log = logging.getLogger(__name__)
NOT_ESCALATED = (TaskState.CONNECTED, TaskState.COMPLETED, TaskState.CLOSED)


def job_id(task: CallbackTask) -> str:
    return f"callback-escalate-{task.id}-{int(task.due_at.timestamp())}"


def schedule(task: CallbackTask) -> None:
    """Enqueue the escalation check at ``due_at`` (same id for the same deadline)."""
    queues.enqueue("escalate_task", task.id, job_id=job_id(task), at=task.due_at)


def escalate_if_due(task_id: int, now: datetime | None = None) -> bool:
    """Escalate the task if its deadline passed without a connected call; True if it did.

    Safe to run any number of times: one escalation per deadline (dedupe key).
    """
    now = now or utcnow()
    task = db.session.get(CallbackTask, task_id)
    if task is None or task.state in NOT_ESCALATED or task.due_at > now:
        return False
    if task.escalated_at is not None and task.escalated_at >= task.due_at:
        return False
    fresh = events.record(
        "callback.escalation",
        session=task.session,
        data={"task_id": task.id, "due_at": task.due_at.isoformat()},
        dedupe_key=f"callback-escalated:{task.id}:{int(task.due_at.timestamp())}",
    )
    if not fresh:
        db.session.rollback()
        return False
    try:
        states.mark_escalated(
            task, priority=min(task.priority + 1, int(Priority.CRITICAL)), now=now
        )
    except states.Conflict:
        db.session.rollback()
        return False
    db.session.commit()
    notify(task, now)
    return True


def payload(task: CallbackTask, now: datetime) -> dict[str, Any]:
    overdue = int((now - task.due_at).total_seconds() // 60)
    return {
        "event": "callback.escalated",
        "task_id": task.id,
        "phone": task.phone,
        "priority": Priority(task.priority).label,
        "state": task.state.value,
        "reasons": task.reasons,
        "due_at": task.due_at.astimezone(UTC).isoformat(),
        "minutes_overdue": overdue,
        "claimed_by": task.claimed_by.email if task.claimed_by else None,
    }


def notify(task: CallbackTask, now: datetime) -> dict[str, bool]:
    """Tell supervisors on every configured channel; a failing channel is logged."""
    cfg = current_app.config
    body = payload(task, now)
    text = (
        f"Callback {task.id} to {task.phone} missed its SLA by {body['minutes_overdue']} min "
        f"({', '.join(task.reason_codes)}); now {body['priority']}."
    )
    sent: dict[str, bool] = {}
    if cfg.get("ESCALATION_WEBHOOK_URL"):
        sent["webhook"] = _guard("webhook", lambda: _post(cfg["ESCALATION_WEBHOOK_URL"], body))
    if cfg.get("ESCALATION_SMS_TO"):
        sent["sms"] = _guard("sms", lambda: _sms(cfg["ESCALATION_SMS_TO"], text))
    if cfg.get("ESCALATION_EMAIL_TO") and cfg.get("SMTP_HOST"):
        sent["email"] = _guard("email", lambda: _email(cfg["ESCALATION_EMAIL_TO"], text))
    return sent


def _guard(channel: str, send: Any) -> bool:
    try:
        send()
    except Exception:  # a notification failure must not undo the escalation
        log.exception("escalation %s notification failed", channel)
        return False
    return True


def _post(url: str, body: dict[str, Any]) -> None:
    response = requests.post(url, json=body, timeout=5)
    response.raise_for_status()


def _sms(to: str, text: str) -> None:
    twilio_client().messages.create(
        to=to, from_=current_app.config["TWILIO_PHONE_NUMBER"], body=text
    )


def _email(to: str, text: str) -> None:
    cfg = current_app.config
    message = EmailMessage()
    message["Subject"] = "Callback missed its SLA"
    message["From"] = cfg["ESCALATION_EMAIL_FROM"]
    message["To"] = to
    message.set_content(text)
    with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=10) as smtp:
        smtp.send_message(message)
