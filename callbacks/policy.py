"""Callback policy from configuration: calling window, SLA minutes, attempts, back-off."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from callbacks import hours
from callbacks.models import CallbackTask, Priority, TaskState

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
