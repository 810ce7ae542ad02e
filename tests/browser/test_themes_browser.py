"""The Themes page in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.models import User
from simulator.fake_state import FakeTwilio
from tests.browser.conftest import screenshot, sign_in
from tests.dashboard.conftest import make_session
from tests.themes.conftest import NOW, at_now, by_topic  # noqa: F401 - at_now: fixture
from themes import assign, rising

pytestmark = pytest.mark.browser


def seed_themes(recordings_dir: Path, fake_twilio: FakeTwilio) -> None:
    """Four weeks of comments and a refund spike this week, on the page's pinned clock
    (``NOW``, a Wednesday): this week's calls are spread between Monday 00:00 UTC and now.
    On the real clock a Sunday-night run could seed one week and load the page in the next."""
    now = NOW
    monday = rising.week_start(now)
    this_week = [monday + (now - monday) * (n + 1) / 12 for n in range(10)]
    earlier = [monday - timedelta(weeks=w, days=-2, hours=-10) for w in (4, 3, 2, 1)]
    topics = by_topic()

    def calls(texts: list[str], times: list[datetime], nps: int) -> None:
        for n, (text, at) in enumerate(zip(cycle(texts), times, strict=False)):
            make_session(
                phone=f"+1415555{n % 10}1{len(text) % 10}{nps % 10}",
                nps=nps,
                comment=text,
                at=at,
                audio_dir=recordings_dir,
                twilio=fake_twilio,
            )

    calls(topics["refund"], earlier + this_week, nps=3)
    calls([topics["internet_outage"][i] for i in (0, 2, 3, 6)], earlier + this_week[:3], nps=5)
    calls([topics["helpful_agent"][i] for i in (2, 4, 5)], earlier[2:] + this_week[:2], nps=10)
    assign.assign_new(now=now)


def test_themes_page_shows_what_callers_talk_about(
    app: Flask,
    page: Any,
    boss: User,
    recordings_dir: Path,
    fake_twilio: FakeTwilio,
    at_now: None,  # noqa: F811
) -> None:
    """Ranked themes with figures, a sparkline, quotes to the call, a rising flag; a rename."""
    seed_themes(recordings_dir, fake_twilio)
    sign_in(page, boss)
    page.click("header nav >> text=Themes")
    page.wait_for_load_state()
    page.select_option("select[name=days]", "90")  # every seeded call, whatever the weekday
    page.click("text=Show")
    page.wait_for_load_state()
    rows = page.locator("table.themes tbody tr")
    assert rows.count() == 3
    first = rows.first
    assert "Refund" in first.locator(".theme-name").inner_text()
    assert first.locator("[data-col=count]").inner_text() == "14"
    assert first.locator(".badge.rising").count() == 1
    assert rows.nth(1).locator(".badge.rising").count() == 0
    bars = first.locator("svg.spark rect")
    assert bars.count() == 13  # one a week over the 90 days
    box = bars.last.bounding_box()
    assert box is not None and box["height"] > 10  # this week's bar stands out
    assert first.locator("ul.quotes li a").count() == 3
    screenshot(page, "10-themes")

    first.locator("details.edit summary").click()
    first.locator("input[name=name]").fill("Refunds still owed")
    first.locator("form[aria-label^=Rename] button").click()
    page.wait_for_load_state()
    assert "Renamed to “Refunds still owed”" in page.inner_text(".flash")
    assert page.locator("table.themes tbody tr").first.locator(".badge.named").count() == 1

    quote = page.locator("table.themes tbody tr").first.locator("ul.quotes li a").first
    said = quote.inner_text()
    quote.click()
    page.wait_for_load_state()
    assert "/dashboard/calls/" in page.url
    assert said[:30] in page.inner_text("blockquote.transcript")
    assert page.locator("audio.player").count() == 1
    screenshot(page, "11-theme-quote-call")
