"""Telling supervisors when a theme rises (the hourly ``alert_rising_themes`` job): once per
theme per calendar week, through the escalation channels (webhook and e-mail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import and_, true

from core import events
from core.db import db, utcnow
from core.notify import supervisors
from themes import report, rising
from themes.models import ThemeAlert

SUBJECT = "A theme is rising in survey comments"


def payload(row: report.ThemeRow, alert: ThemeAlert) -> dict[str, Any]:
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    return {
        "event": "theme.rising",
        "theme_id": row.id,
        "name": row.name,
        "week_start": alert.week_start.isoformat(),
        "count": alert.count,
        "baseline_per_week": round(alert.baseline, 2),
        "p_value": alert.p_value,
        "test": f"one-sided Poisson, previous {rising.BASELINE_WEEKS} weeks",
        "examples": [{"session_id": q.session_id, "text": q.text} for q in row.quotes],
        "url": f"{base}/dashboard/themes" if base else "/dashboard/themes",
    }


def message(row: report.ThemeRow, alert: ThemeAlert) -> str:
    return (
        f"Theme “{row.name}” is rising: {alert.count} comments this week against "
        f"{alert.baseline:.1f} a week over the previous {rising.BASELINE_WEEKS} weeks "
        f"(Poisson p = {alert.p_value:.2g})."
    )


def alert_rising(now: datetime | None = None) -> list[ThemeAlert]:
    """Alert on every theme rising this week that was not alerted this week yet."""
    now = now or utcnow()
    week = rising.week_start(now).date()
    found = report.build(true(), days=7, now=now, weeks=rising.BASELINE_WEEKS + 1)
    alerts = []
    for row in found.rows:
        if not row.rising or row.test is None:
            continue
        alert = ThemeAlert(
            theme_id=row.id,
            week_start=week,
            count=row.test.count,
            baseline=row.test.baseline,
            p_value=row.test.p_value,
            created_at=now,
        )
        claimed = events.insert_or_get(
            alert, and_(ThemeAlert.theme_id == row.id, ThemeAlert.week_start == week)
        )
        if claimed is not alert:
            continue  # told already this week
        db.session.commit()  # claimed before sending: a retry never sends twice
        alert.sent = supervisors(payload(row, alert), message(row, alert), SUBJECT, sms=False)
        db.session.commit()
        alerts.append(alert)
    return alerts
