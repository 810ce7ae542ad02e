"""Rising themes on a controlled clock: the Poisson test against the previous four weeks,
and supervisors told once per theme per week (webhook and e-mail, never SMS)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import cycle

import pytest
from flask import Flask
from sqlalchemy import true

from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import Sink, webhook_sink  # noqa: F401 - fixture
from tests.callbacks.test_escalation_channels import Mailbox, mailbox  # noqa: F401 - fixture
from tests.themes.conftest import NOW, by_topic, said
from themes import alerts, assign, report, rising

MONDAY = rising.week_start(NOW)


def comments(topic: str, times: list[datetime]) -> None:
    for text, at in zip(cycle(by_topic()[topic]), times, strict=False):
        said(text, at)


def weekly(weeks_ago: int, count: int) -> list[datetime]:
    """``count`` calls spread over the week that began ``weeks_ago`` weeks before this one."""
    start = MONDAY - timedelta(weeks=weeks_ago) + timedelta(hours=9)
    return [start + timedelta(hours=11 * n) for n in range(count)]


@pytest.fixture
def spike(app: Flask) -> None:
    """Refunds: one a week for four weeks, then ten since Monday. Broadband: three every
    week, this one included."""
    this_week = [MONDAY + timedelta(hours=4 * n + 1) for n in range(10)]
    comments("refund", [t for w in (4, 3, 2, 1) for t in weekly(w, 1)] + this_week)
    comments("internet_outage", [t for w in (4, 3, 2, 1, 0) for t in weekly(w, 3)][:-1])
    assign.assign_new(now=NOW)


@pytest.fixture
def told(app: Flask, webhook_sink: Sink, monkeypatch: pytest.MonkeyPatch) -> Sink:  # noqa: F811
    monkeypatch.setitem(app.config, "ESCALATION_WEBHOOK_URL", webhook_sink.url)
    return webhook_sink


def by_name(word: str, now: datetime = NOW) -> report.ThemeRow:
    rows = report.build(true(), 7, now).rows
    [row] = [r for r in rows if word in r.name.lower()]
    return row


def test_a_theme_far_above_its_usual_week_is_rising(spike: None) -> None:
    """Ten refund comments this week against one a week before: rising (p < 0.01)."""
    refund = by_name("refund")
    assert refund.rising
    assert refund.test is not None and refund.test.count == 10
    assert refund.test.baseline == 1.0 and refund.test.p_value < 1e-6


def test_a_theme_at_its_usual_rate_is_not_rising(spike: None) -> None:
    """Broadband at its usual three a week (two so far) is not rising."""
    assert not by_name("broadband").rising


def test_the_same_week_is_not_rising_once_it_is_history(spike: None) -> None:
    """Five weeks on, with no new comments, nothing is rising (the clock decides)."""
    later = NOW + timedelta(weeks=5)
    assert not any(row.rising for row in report.build(true(), 60, later).rows)


def test_supervisors_are_told_once_per_theme_per_week(spike: None, told: Sink) -> None:
    """The hourly job tells the webhook about the refund spike once, however often it runs."""
    assert len(alerts.alert_rising(NOW)) == 1
    assert alerts.alert_rising(NOW + timedelta(hours=1)) == []
    assert alerts.alert_rising(NOW + timedelta(days=2)) == []
    [body] = told.received
    assert body["event"] == "theme.rising" and "refund" in body["name"].lower()
    assert (body["count"], body["baseline_per_week"]) == (10, 1.0)
    assert len(body["examples"]) == 3 and all(e["text"] for e in body["examples"])


def test_a_new_spike_next_week_is_told_again(spike: None, told: Sink) -> None:
    """Rising again the week after is a new alert: once per theme per week, not for ever."""
    alerts.alert_rising(NOW)
    comments("refund", [MONDAY + timedelta(weeks=1, hours=2 * n + 1) for n in range(14)])
    assign.assign_new(now=NOW + timedelta(weeks=1))
    assert len(alerts.alert_rising(NOW + timedelta(weeks=1))) == 1
    assert [b["week_start"] for b in told.received] == ["2026-11-16", "2026-11-23"]


def test_the_email_says_which_theme_and_how_far_above(
    app: Flask,
    spike: None,
    mailbox: Mailbox,  # noqa: F811
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """E-mail to ESCALATION_EMAIL_TO with the figures; no text message for a theme."""
    for key, value in {
        "ESCALATION_EMAIL_TO": "supervisors@example.com",
        "ESCALATION_SMS_TO": "+14155550177",
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": mailbox.port,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    [alert] = alerts.alert_rising(NOW)
    assert alert.sent == {"email": True}
    [mail] = mailbox.messages
    assert mail["Subject"] == alerts.SUBJECT
    assert "is rising: 10 comments this week against 1.0 a week" in mail.get_content()
    assert fake_twilio.messages.all() == []
