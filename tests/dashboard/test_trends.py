"""Trends: NPS, CSAT, rates and callback timing per period, and their charts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask

from core.db import db, utcnow
from core.models import CallSession, SurveyOutcome, User
from dashboard import trends
from tests.dashboard.conftest import make_session


def compute(user: User, **args: str) -> trends.Trends:
    return trends.compute(user, trends.TrendFilters.from_args(args))


def test_nps_is_promoters_minus_detractors(app: Flask, manager: User) -> None:
    """Scores 10, 9, 7 and 5 give NPS (2 - 1) / 4 = 25."""
    for score in (10, 9, 7, 5):
        make_session(nps=score)
    assert compute(manager).total.nps_score == 25.0


def test_csat_average_and_rates(app: Flask, manager: User) -> None:
    """CSAT averages answered values; response and completion rates count calls."""
    make_session(csat=5)
    make_session(csat=2, outcome=SurveyOutcome.PARTIAL)
    make_session(outcome=SurveyOutcome.NOT_STARTED)
    total = compute(manager).total
    assert total.csat_average == 3.5
    assert total.response_rate == pytest.approx(66.7)
    assert total.completion_rate == pytest.approx(33.3)


def test_flagged_rate_uses_the_same_reasons(app: Flask, manager: User) -> None:
    """One low score among two answered calls is a 50% flagged rate."""
    make_session(nps=2)
    make_session(nps=10, csat=5)
    assert compute(manager).total.flagged_rate == 50.0


def test_test_calls_are_left_out(app: Flask, manager: User) -> None:
    """Try-it calls never count in trends."""
    make_session(nps=0, is_test=True)
    make_session(nps=10)
    total = compute(manager).total
    assert total.calls == 1 and total.nps_score == 100.0


def test_days_are_bucketed_and_empty_days_kept(app: Flask, manager: User) -> None:
    """A three-day range has three day buckets even when one has no calls."""
    # The range and the call on given days: "to" left to the clock moved a day on if midnight
    # passed between reading it here and in compute.
    today = utcnow().date()
    first = today - timedelta(days=2)
    make_session(nps=10, at=datetime.combine(first, time(12), UTC))
    result = compute(manager, **{"from": first.isoformat(), "to": today.isoformat()})
    assert [b.calls for b in result.series] == [1, 0, 0]


def test_weeks_start_on_monday(app: Flask) -> None:
    """Weekly buckets start on Mondays."""
    assert trends.bucket_start(date(2026, 11, 26), "week") == date(2026, 11, 23)


def test_callback_sla_and_median_first_attempt(app: Flask, manager: User) -> None:
    """Two attempted tasks (one late) give 50% within SLA and a median of 20 minutes."""
    from callbacks import models

    now = utcnow()
    for minutes, due_minutes in ((10, 15), (30, 15)):
        s = make_session(nps=1)
        created = now - timedelta(hours=1)
        db.session.add(
            models.CallbackTask(
                session_id=s.id,
                contact_id=s.contact_id,
                phone=s.from_number,
                timezone="America/New_York",
                scheduled_for=created,
                due_at=created + timedelta(minutes=due_minutes),
                created_at=created,
                first_attempt_at=created + timedelta(minutes=minutes),
                closed_at=created + timedelta(minutes=minutes + 5),
                state=models.TaskState.CLOSED,
            )
        )
        db.session.commit()
    total = compute(manager).total
    assert total.sla_rate == 50.0
    assert total.median_first_attempt == 20.0


def test_trends_page_draws_charts_with_bars(app: Flask, signed_in: Any) -> None:
    """The page shows the NPS figure and SVG charts with one bar per day with data."""
    recent = utcnow() - timedelta(minutes=30)  # make_session's default; days apart from it
    make_session(nps=10, at=recent)
    make_session(nps=3, at=recent - timedelta(days=1))
    html = signed_in.get("/dashboard/trends").get_data(as_text=True)
    assert 'data-kpi="nps">0.0<' in html
    nps_chart = html.split('data-chart="nps_score"')[1].split("</figure>")[0]
    assert len(re.findall(r'<rect class="bar', nps_chart)) == 2
    assert "Per survey" in html and "After your support call" in html


def test_trends_only_count_the_managers_team(app: Flask, client: Any) -> None:
    """Sessions are scoped exactly like the flagged list."""
    from core.models import Role, Survey
    from tests.dashboard.conftest import make_team
    from tests.factories import login, make_user

    survey = db.session.scalar(db.select(Survey).where(Survey.slug == "post-call"))
    assert survey is not None
    survey.team_id = make_team("Theirs").id
    db.session.commit()
    make_session(nps=1)
    login(client, make_user(Role.MANAGER, make_team("Mine")))
    html = client.get("/dashboard/trends").get_data(as_text=True)
    assert 'data-kpi="calls">0<' in html
    assert db.session.scalar(db.select(db.func.count(CallSession.id))) == 1
