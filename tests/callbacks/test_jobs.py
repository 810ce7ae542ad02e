"""The worker side: evaluation as a job, the fallback, and the periodic safety net."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from callbacks import actions, evaluation, sweep
from callbacks.models import CallbackTask, TaskState
from core.db import db, utcnow
from tests.callbacks.conftest import AUTH, make_session, make_task, reload_task
from tests.conftest import Worker
from workers import jobs
from workers.cron import build_scheduler


def open_tasks() -> list[CallbackTask]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(CallbackTask).where(CallbackTask.closed_at.is_(None))))


def test_evaluation_as_a_job_opens_the_task_on_the_worker(
    app: Flask, client: Any, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With inline evaluation off, the hook queues one job and the worker opens the task."""
    monkeypatch.setitem(app.config, "CALLBACK_EVALUATE_INLINE", False)
    session = make_session(nps=1)
    evaluation.on_survey_finished(session.id)
    evaluation.on_survey_finished(session.id)  # finish() and the status callback both fire
    assert open_tasks() == []
    worker.run()
    [item] = client.get("/api/callbacks", headers=AUTH).get_json()["callbacks"]
    assert item["session_id"] == session.id


def test_failed_inline_evaluation_falls_back_to_the_job(
    app: Flask, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the rules fail inside the webhook, the caller is unaffected and the job does it."""
    real = evaluation.evaluate_session
    calls: list[int] = []

    def flaky(session_id: int, now: Any = None) -> Any:
        calls.append(session_id)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return real(session_id, now)

    monkeypatch.setattr(evaluation, "evaluate_session", flaky)
    session = make_session(nps=1)
    evaluation.on_survey_finished(session.id)
    assert open_tasks() == []
    worker.run()
    assert [t.session_id for t in open_tasks()] == [session.id]


def test_sweep_evaluates_a_survey_that_was_never_evaluated(app: Flask) -> None:
    """A finished survey with no verdict (Redis and inline both failed) is caught up."""
    session = make_session(nps=0)
    counts = sweep.sweep(utcnow() + timedelta(minutes=5))
    assert counts["evaluated"] == 1
    assert [t.session_id for t in open_tasks()] == [session.id]
    assert sweep.sweep(utcnow() + timedelta(minutes=6))["evaluated"] == 0


def test_sweep_reopens_retries_whose_time_has_come(app: Flask, agent: Any) -> None:
    """A retry scheduled for later goes back to open once its time passes."""
    task = make_task()
    actions.claim(task.id, agent)
    actions.reschedule(task.id, agent, utcnow() + timedelta(hours=1))
    task = reload_task(task.id)
    assert task.state is TaskState.RETRY_SCHEDULED
    sweep.sweep(task.scheduled_for + timedelta(seconds=1))
    assert reload_task(task.id).state is TaskState.OPEN


def test_scheduler_runs_the_callback_sweep(app: Flask) -> None:
    """The cron scheduler has the callback sweep registered on the high queue."""
    registered = [(job.func, job.queue_name) for job in build_scheduler().get_jobs()]
    assert (jobs.sweep_callbacks, "high") in registered
