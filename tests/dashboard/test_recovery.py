"""Recovery on the dashboard: callbacks whose follow-up reply was 4-5, by period, survey and
agent, next to callbacks within SLA; and the follow-up in a call's timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from flask import Flask

from callbacks.models import CallbackAttempt, CallbackTask, FollowUp, FollowUpStatus, TaskState
from core.db import db, utcnow
from core.models import CallSession, Role, User
from dashboard import trends
from tests.dashboard.conftest import make_session
from tests.factories import make_user


def followed_up(
    session: CallSession,
    agent: User | None,
    score: int | None,
    *,
    status: FollowUpStatus = FollowUpStatus.ANSWERED,
    channel: str = "voice",
    late: bool = False,
) -> CallbackTask:
    """The session's callback, reached by ``agent`` (late or in SLA), and its follow-up."""
    created = session.created_at + timedelta(minutes=3)
    reopened = score is not None and score <= 3
    first = created + timedelta(minutes=90 if late else 20)
    task = CallbackTask(
        session_id=session.id,
        contact_id=session.contact_id,
        phone=session.from_number,
        timezone="America/New_York",
        scheduled_for=created,
        due_at=created + timedelta(minutes=60),
        created_at=created,
        first_attempt_at=first,
        closed_at=None if reopened else first + timedelta(minutes=10),
        state=TaskState.REOPENED if reopened else TaskState.CLOSED,
        outcome="resolved",
        reasons=[{"code": "low_nps", "detail": "NPS 2", "session_id": session.id}],
    )
    db.session.add(task)
    db.session.flush()
    db.session.add(
        CallbackAttempt(
            task_id=task.id,
            agent_id=agent.id if agent else None,
            status="completed",
            to_number=task.phone,
            agent_number="+14155550100",
            created_at=first,
            ended_at=first + timedelta(minutes=8),
        )
    )
    sent = first + timedelta(days=1)
    db.session.add(
        FollowUp(
            task_id=task.id,
            agent_id=agent.id if agent else None,
            status=status,
            channel=channel,
            due_at=sent,
            sent_at=sent if status is not FollowUpStatus.SCHEDULED else None,
            score=score,
            answered_at=sent + timedelta(minutes=4) if score is not None else None,
        )
    )
    db.session.commit()
    return task


NUMBERS = count(200)


def survey_call(**args: Any) -> CallSession:
    """A low-score survey call from a number of its own (one open task per contact)."""
    return make_session(nps=2, phone=f"+1415555{next(NUMBERS):04d}", **args)


def compute(user: User, **args: str) -> trends.Trends:
    return trends.compute(user, trends.TrendFilters.from_args(args))


def agents() -> tuple[User, User]:
    """Two agents known by name on the dashboard."""
    people = []
    for name in ("Ann", "Bo"):
        user = make_user(Role.AGENT, email=f"{name.lower()}@example.com")
        user.name = name
        people.append(user)
    db.session.commit()
    return people[0], people[1]


def test_recovery_rate_is_replies_of_four_or_five_out_of_replies(app: Flask, manager: User) -> None:
    """Replies 5, 4, 2 and one unanswered: 2 of 3 replies recovered (66.7%), 4 followed up."""
    ann, _ = agents()
    for score in (5, 4, 2, None):
        status = FollowUpStatus.ANSWERED if score else FollowUpStatus.SENT
        followed_up(survey_call(), ann, score, status=status)
    total = compute(manager).total
    assert (total.followed_up, total.replies, total.recovered) == (4, 3, 2)
    assert total.recovery_rate == 66.7


def test_recovery_is_counted_per_week_of_the_survey_call(app: Flask, manager: User) -> None:
    """A recovered callback from one week and a low one from the next land in their weeks."""
    ann, _ = agents()
    today = utcnow().date()
    this_monday = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time())
    # Last week's Monday, 01:00: in the past at any time of day (this Monday's would be in
    # the future between 00:00 and 01:00 UTC).
    last_week = this_monday.replace(tzinfo=utcnow().tzinfo) - timedelta(days=7, hours=-1)
    followed_up(survey_call(at=last_week - timedelta(days=7)), ann, 5)
    followed_up(survey_call(at=last_week), ann, 1)
    series = compute(manager, by="week").series
    rates = [b.recovery_rate for b in series if b.replies]
    assert rates == [100.0, 0.0]


def test_recovery_per_agent_sits_next_to_their_callbacks_within_sla(
    app: Flask, manager: User
) -> None:
    """Ann: 2 of 2 recovered, both in SLA; Bo: 0 of 1, late."""
    ann, bo = agents()
    followed_up(survey_call(), ann, 5)
    followed_up(survey_call(), ann, 4)
    followed_up(survey_call(), bo, 3, late=True)
    by_agent = {b.label: b for b in compute(manager).by_agent}
    assert (by_agent["Ann"].recovery_rate, by_agent["Ann"].sla_rate) == (100.0, 100.0)
    assert (by_agent["Bo"].recovery_rate, by_agent["Bo"].sla_rate) == (0.0, 0.0)


def test_trends_page_draws_the_recovery_chart_and_tables(app: Flask, signed_in: Any) -> None:
    """The KPI, a recovery bar, the per-survey column and the per-agent table."""
    ann, _ = agents()
    followed_up(survey_call(), ann, 5)
    followed_up(survey_call(), ann, 2)
    html = signed_in.get("/dashboard/trends").get_data(as_text=True)
    assert 'data-kpi="recovered">50.0%<' in html and "1 of 2 replies" in html
    chart = html.split('data-chart="recovery_rate"')[1].split("</figure>")[0]
    assert "Recovered after a callback" in chart
    assert len(re.findall(r'<rect class="bar', chart)) == 1
    sla_position = html.index('data-chart="sla_rate"')
    assert sla_position < html.index('data-chart="recovery_rate"')
    agent_row = html.split('class="by-agent"')[1].split("</table>")[0]
    assert re.search(r"<td>Ann</td><td>2</td><td>2</td><td>1</td><td>50.0%</td>", agent_row)


def test_call_page_shows_the_follow_up_and_its_reply(app: Flask, signed_in: Any) -> None:
    """Sent by text, replied 2: the timeline says so, and that the task went to a supervisor."""
    ann, _ = agents()
    session = survey_call()
    followed_up(session, ann, 2, channel="sms")
    html = signed_in.get(f"/dashboard/calls/{session.id}").get_data(as_text=True)
    assert "Follow-up sent by text" in html
    assert "Follow-up reply: 2 of 5 by text" in html
    assert "not put right: reopened for a supervisor" in html
    assert html.index("Follow-up sent by text") < html.index("Follow-up reply: 2 of 5")


def test_call_page_shows_a_follow_up_still_to_come(app: Flask, signed_in: Any) -> None:
    """A scheduled follow-up shows as scheduled, with no reply yet."""
    session = survey_call()
    followed_up(session, None, None, status=FollowUpStatus.SCHEDULED)
    html = signed_in.get(f"/dashboard/calls/{session.id}").get_data(as_text=True)
    assert "Follow-up scheduled" in html and "Follow-up reply" not in html
