"""Callback policy from configuration: calling window, SLA minutes, attempts, back-off.

``core.config`` holds every default; nothing here repeats one.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from callbacks.models import AttemptStatus, CallbackTask, Priority, TaskState
from core import hours, reachability

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
ANSWERED = frozenset({AttemptStatus.CONNECTED.value, AttemptStatus.COMPLETED.value})


def reached(status: str, outcome: str | None) -> bool:
    """Did this call reach the caller? Their leg answered (``ANSWERED``) and the agent did not
    find voicemail or nobody there (``UNREACHED_OUTCOMES``, which the task retries). The one
    rule for the promise kept (``promise``) and the follow-up asked (``followup``)."""
    return status in ANSWERED and outcome not in UNREACHED_OUTCOMES


def window() -> hours.Window:
    """``CALLING_HOURS``: the same window survey calls keep (``core.reachability``)."""
    return reachability.calling_window()


def zone(name: str | None) -> ZoneInfo:
    """The named zone, or ``DEFAULT_TIMEZONE`` when it is missing or unknown."""
    return reachability.zone(name)


def task_zone(task: CallbackTask) -> ZoneInfo:
    return zone(task.timezone)


def max_attempts() -> int:
    return int(current_app.config["CALLBACK_MAX_ATTEMPTS"])


def reschedule_horizon() -> timedelta:
    """How far ahead an agent or the API may put a callback (``RESCHEDULE_MAX_DAYS``)."""
    return timedelta(days=int(current_app.config["RESCHEDULE_MAX_DAYS"]))


def backoff(attempts: int) -> timedelta:
    steps = current_app.config["CALLBACK_BACKOFF_MINUTES"]
    return timedelta(minutes=steps[min(max(attempts - 1, 0), len(steps) - 1)])


def sla_minutes(priority: int) -> int:
    """Minutes from a task's start to its deadline: the one source is the config
    (``URGENT_SLA_MINUTES`` for urgent and critical tasks, ``STANDARD_SLA_MINUTES`` else)."""
    key = "URGENT_SLA_MINUTES" if priority >= Priority.URGENT else "STANDARD_SLA_MINUTES"
    return int(current_app.config[key])
