"""The agent hangs up as the customer answers: the attempt is the connected call it was.

The customer's "in-progress" is committed from another thread at the one moment that lost
it before: after the agent leg's "completed" read the attempt, just before its first write.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from callbacks import dialing
from callbacks.models import AttemptStatus, CallbackAttempt, TaskState
from core.db import db
from core.models import User
from tests.callbacks.conftest import make_task, reload_task
from tests.callbacks.test_dialing import claim
from tests.races import committed_before_my_first_write

CUSTOMER_LEG = "CA" + "f" * 32


def test_agent_hanging_up_as_the_customer_answers_completes_the_attempt(
    app: Flask, client: Any, agent: User, any_time: None
) -> None:
    """The agent's "completed" read the attempt agent-answered; the customer's "in-progress"
    was stored before it wrote: one completed, counted attempt, not "never placed"."""
    task = make_task()
    claim(client, task, agent)
    attempt = dialing.start_call(task.id, agent)
    dialing.advance(attempt, AttemptStatus.AGENT_ANSWERED)
    db.session.commit()
    attempt_id = attempt.id

    def customer_answers() -> None:
        fresh = db.session.get(CallbackAttempt, attempt_id)
        assert fresh is not None
        dialing.customer_leg_status(fresh, "in-progress", CUSTOMER_LEG, None)

    writes = ("SAVEPOINT", "INSERT", "UPDATE")
    with committed_before_my_first_write(app, writes, customer_answers) as raced:
        dialing.agent_leg_status(attempt, "completed")
    assert raced.is_set()
    db.session.expire_all()
    stored = db.session.get(CallbackAttempt, attempt_id)
    assert stored is not None
    assert (stored.status, stored.counted, stored.customer_call_sid) == (
        AttemptStatus.COMPLETED,
        True,
        CUSTOMER_LEG,
    )
    task = reload_task(task.id)
    assert task.attempts_count == 1 and task.state is TaskState.COMPLETED
