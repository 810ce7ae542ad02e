"""Shared by the follow-up tests: a controlled clock, a callback that reached the customer,
due jobs run in this process, and what the fake Twilio saw."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from redis import Redis
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from callbacks import actions, followup
from callbacks.models import AttemptStatus, CallbackAttempt, CallbackTask, FollowUp, TaskState
from core import contacts, queues
from core.db import db
from core.models import User
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import AGENT_PHONE, CUSTOMER, make_task
from tests.conftest import Worker
from texts import consent, inbound

LA = ZoneInfo("America/Los_Angeles")  # CUSTOMER is a San Francisco number
MORNING = datetime(2025, 6, 10, 10, 0, tzinfo=LA)  # a Tuesday, inside calling hours
LATE = datetime(2025, 6, 10, 21, 30, tzinfo=LA)  # 24 h later is after 21:00 again


@dataclass
class Clock:
    now: datetime

    def set(self, at: datetime) -> None:
        self.now = at.astimezone(UTC)


@pytest.fixture(name="clock")
def clock_fixture(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Follow-ups and agents' outcomes (and incoming texts) read this clock."""
    clock = Clock(MORNING.astimezone(UTC))
    for module in (followup, actions, inbound):
        monkeypatch.setattr(module, "utcnow", lambda: clock.now)
    return clock


@pytest.fixture(name="hours")
def hours_fixture(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real calling window, whatever earlier steps of a test needed."""
    monkeypatch.setitem(app.config, "CALLING_HOURS", "08:00-21:00")


def run_due_jobs(redis_conn: Redis) -> None:
    """What the scheduler does each second, then a burst worker, in this process."""
    for name in queues.ALL:
        queue = queues.get_queue(name, redis_conn)
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_jobs_to_schedule(int(time.time())):
            registry.remove(job_id)
            queue.enqueue_job(Job.fetch(job_id, connection=redis_conn))
    Worker(redis_conn).run()


def reached_task(agent: User, **session_args: Any) -> CallbackTask:
    """A task whose click-to-call reached the customer; the agent still holds it."""
    task = make_task(**session_args)
    attempt = CallbackAttempt(
        task_id=task.id,
        agent_id=agent.id,
        status=AttemptStatus.COMPLETED,
        to_number=task.phone,
        agent_number=AGENT_PHONE,
        counted=True,
    )
    db.session.add(attempt)
    task.state, task.claimed_by_id, task.attempts_count = TaskState.COMPLETED, agent.id, 1
    db.session.commit()
    return task


def the_follow_up(task_id: int) -> FollowUp:
    db.session.expire_all()
    row = followup.for_task(task_id)
    assert row is not None
    return row


def customer_calls(fake_twilio: FakeTwilio) -> list[Any]:
    fake_twilio.wait_for_calls()
    return [c for c in fake_twilio.call_list() if c.to == CUSTOMER]


def texts_to_customer(fake_twilio: FakeTwilio) -> list[Any]:
    return [m for m in fake_twilio.messages.all() if m.to == CUSTOMER]


def allow_texts() -> None:
    consent.grant(contacts.get_or_create(CUSTOMER), "test")
    db.session.commit()
