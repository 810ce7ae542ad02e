"""The recovery chart in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from callbacks.models import FollowUpStatus
from core.db import utcnow
from core.models import User
from tests.browser.conftest import screenshot, sign_in
from tests.dashboard.test_recovery import agents, followed_up, survey_call

pytestmark = pytest.mark.browser


def test_trends_show_recovery_next_to_callbacks_within_sla(
    app: Flask, page: Any, boss: User
) -> None:
    """Followed-up callbacks over two weeks: the recovery chart, its KPI and the agent table."""
    ann, bo = agents()
    now = utcnow()
    plan = [  # (days ago, agent, reply, late)
        (1, ann, 5, False),
        (2, ann, 4, False),
        (3, bo, 2, True),
        (8, ann, 5, False),
        (9, bo, 3, False),
        (10, bo, None, True),
    ]
    for days, agent, score, late in plan:
        status = FollowUpStatus.ANSWERED if score else FollowUpStatus.SENT
        session = survey_call(at=now - timedelta(days=days, hours=1))
        followed_up(session, agent, score, status=status, late=late)
    sign_in(page, boss)
    page.goto("/dashboard/trends?by=week")
    chart = page.locator("figure[data-chart=recovery_rate]")
    assert "Recovered after a callback" in chart.locator("h3").inner_text()
    assert chart.locator("rect.bar").count() >= 2
    sla = page.locator("figure[data-chart=sla_rate]")
    sla_box, box = sla.bounding_box(), chart.bounding_box()
    assert sla_box["y"] == box["y"] and sla_box["x"] < box["x"]  # side by side
    assert page.locator("[data-kpi=recovered]").inner_text() == "60.0%"
    rows = page.locator("table.by-agent tbody tr")
    assert rows.count() == 2 and "Ann" in rows.first.inner_text()
    chart.scroll_into_view_if_needed()
    screenshot(page, "recovery-trends")


def test_call_page_timeline_shows_the_follow_up_reply(app: Flask, page: Any, boss: User) -> None:
    """A callback followed up by text and answered 2: both steps on the call's timeline."""
    ann, _ = agents()
    session = survey_call(at=utcnow() - timedelta(days=2))
    followed_up(session, ann, 2, channel="sms")
    sign_in(page, boss)
    page.goto(f"/dashboard/calls/{session.id}")
    timeline = page.locator("ol.timeline")
    assert timeline.locator("li", has_text="Follow-up sent by text").count() == 1
    reply = timeline.locator("li.step-flag", has_text="Follow-up reply: 2 of 5 by text")
    assert "reopened for a supervisor" in reply.inner_text()
    timeline.scroll_into_view_if_needed()
    screenshot(page, "recovery-call-timeline")
