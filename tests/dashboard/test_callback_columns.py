"""Callback state, SLA and agent in the flagged list, read through ``callbacks.links``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from callbacks import evaluation, models
from core.db import db, utcnow
from core.models import CallSession, Role, User
from tests.dashboard.conftest import make_session
from tests.factories import make_user


def add_task(
    session: CallSession,
    *,
    state: Any = None,
    first_after: int | None = None,
    sla: int = 60,
    agent: User | None = None,
) -> Any:
    created = session.created_at + timedelta(minutes=2)
    task = models.CallbackTask(
        session_id=session.id,
        contact_id=session.contact_id,
        phone=session.from_number,
        timezone="America/New_York",
        scheduled_for=created,
        due_at=created + timedelta(minutes=sla),
        created_at=created,
        state=state or models.TaskState.OPEN,
        first_attempt_at=created + timedelta(minutes=first_after) if first_after else None,
    )
    db.session.add(task)
    db.session.flush()
    if agent is not None:
        db.session.add(
            models.CallbackAttempt(
                task_id=task.id,
                agent_id=agent.id,
                status=models.AttemptStatus.COMPLETED,
                to_number=session.from_number,
                agent_number="+14155550100",
                created_at=task.first_attempt_at or created,
            )
        )
    db.session.commit()
    return task


_phones = iter(range(2000, 3000))


def caller(**kwargs: Any) -> CallSession:
    """A flagged call from a caller of its own (one open task per contact)."""
    return make_session(phone=f"+1415555{next(_phones)}", **kwargs)


def rows(html: str) -> int:
    return html.count("<tr data-session=")


def test_state_filter(app: Flask, signed_in: Any) -> None:
    """Filtering by "closed" keeps only calls whose task is closed."""
    add_task(caller(nps=1), state=models.TaskState.CLOSED, first_after=5)
    add_task(caller(nps=1))
    caller(nps=1)
    assert rows(signed_in.get("/dashboard/?callback=closed").get_data(as_text=True)) == 1
    assert rows(signed_in.get("/dashboard/?callback=none").get_data(as_text=True)) == 1


def test_sla_filter(app: Flask, signed_in: Any) -> None:
    """SLA met and missed split attempted-in-time from late (or overdue) callbacks."""
    add_task(caller(nps=1), first_after=5, sla=10)
    add_task(caller(nps=1), first_after=30, sla=10)
    add_task(caller(nps=1, at=utcnow() - timedelta(hours=5)), sla=10)
    met = signed_in.get("/dashboard/?sla=met").get_data(as_text=True)
    missed = signed_in.get("/dashboard/?sla=missed").get_data(as_text=True)
    assert rows(met) == 1 and "within SLA" in met
    assert rows(missed) == 2 and "SLA missed" in missed


def test_agent_filter(app: Flask, signed_in: Any) -> None:
    """Filtering by agent keeps the calls that agent called back."""
    ann = make_user(Role.AGENT, email="ann@example.com")
    add_task(caller(nps=1), first_after=5, agent=ann)
    add_task(caller(nps=1), first_after=5, agent=make_user(Role.AGENT))
    html = signed_in.get(f"/dashboard/?agent={ann.id}").get_data(as_text=True)
    assert rows(html) == 1 and "ann@example.com" in html


def test_time_to_callback_is_shown(app: Flask, signed_in: Any) -> None:
    """The row shows minutes from the survey call to the first attempt."""
    add_task(caller(nps=1), first_after=7, sla=60)
    assert "9 min" in signed_in.get("/dashboard/").get_data(as_text=True)


def test_list_queries_do_not_grow_with_rows(
    app: Flask, signed_in: Any, query_counter: list[str]
) -> None:
    """Two or twenty-five rows take the same number of queries (no query per row)."""
    for _ in range(2):
        add_task(caller(nps=1, comment="It was awful."), first_after=5)
    signed_in.get("/dashboard/")  # warm up: login, user loading
    db.session.expunge_all()
    query_counter.clear()
    signed_in.get("/dashboard/")
    few = len(query_counter)
    for _ in range(23):
        add_task(caller(nps=1, comment="It was awful."), first_after=5)
    db.session.expunge_all()
    query_counter.clear()
    html = signed_in.get("/dashboard/").get_data(as_text=True)
    assert rows(html) == 25
    assert len(query_counter) == few, "\n".join(q[:90] for q in query_counter)


def test_session_merged_into_an_open_task_shows_it(app: Flask, signed_in: Any) -> None:
    """A second survey merged into the caller's open task shows that task's state."""
    first = make_session(phone="+14155553001", nps=1, at=utcnow() - timedelta(hours=2))
    second = make_session(phone="+14155553001", nps=2)
    task = evaluation.evaluate_session(first.id)
    assert task is not None and evaluation.evaluate_session(second.id) == task
    html = signed_in.get("/dashboard/?callback=open").get_data(as_text=True)
    assert rows(html) == 2
    assert rows(signed_in.get("/dashboard/?callback=none").get_data(as_text=True)) == 0


def test_real_survey_call_shows_the_task_the_rules_opened(
    app: Flask, signed_in: Any, simulator: Any, survey_url: str, status_url: str, worker: Any
) -> None:
    """End to end: a low score on the phone opens a task, and the list shows it open."""
    from simulator.actions import Press
    from tests.conftest import COMPANY_NUMBER, CUSTOMER

    simulator.call(survey_url, from_=CUSTOMER, to=COMPANY_NUMBER, status_callback=status_url).run(
        [Press("2#"), Press("1"), Press("2"), Press("2"), Press("2")]
    )
    worker.run()
    html = signed_in.get("/dashboard/?callback=open").get_data(as_text=True)
    assert rows(html) == 1
    assert 'class="state state-open"' in html
