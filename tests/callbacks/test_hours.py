"""Calling hours in the callee's local time, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.hours import Window, is_allowed, schedule

NY = ZoneInfo("America/New_York")
WINDOW = Window.parse("08:00-21:00")


def local(*args: int, tz: ZoneInfo = NY) -> datetime:
    return datetime(*args, tzinfo=tz)


def test_late_evening_survey_is_called_back_at_eight_next_morning_across_dst() -> None:
    """20:50 on the evening before clocks go forward -> 08:00 EDT (12:00 UTC) next day."""
    start, due = schedule(local(2026, 3, 7, 20, 50), sla_minutes=60, tz=NY, window=WINDOW)
    assert start == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert start.astimezone(NY).hour == 8
    assert due == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_fall_back_keeps_eight_local() -> None:
    """20:50 the evening before clocks go back -> 08:00 EST (13:00 UTC)."""
    start, _ = schedule(local(2026, 10, 31, 20, 50), sla_minutes=60, tz=NY, window=WINDOW)
    assert start == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_urgent_task_that_fits_before_closing_stays_today() -> None:
    """A 10-minute SLA at 20:50 ends at 21:00, still inside the window."""
    start, due = schedule(local(2026, 3, 7, 20, 50), sla_minutes=10, tz=NY, window=WINDOW)
    assert start.astimezone(NY) == local(2026, 3, 7, 20, 50)
    assert due.astimezone(NY) == local(2026, 3, 7, 21, 0)


def test_night_survey_waits_for_the_morning() -> None:
    """At 02:00 local the task starts at 08:00 the same day."""
    start, _ = schedule(local(2026, 6, 2, 2, 0), sla_minutes=10, tz=NY, window=WINDOW)
    assert start.astimezone(NY) == local(2026, 6, 2, 8, 0)


def test_tomorrow_preference_is_next_mornings_opening() -> None:
    """ "Tomorrow" at 10:00 means 08:00 the next local day."""
    start, _ = schedule(
        local(2026, 6, 2, 10, 0), sla_minutes=60, tz=NY, window=WINDOW, preference="tomorrow"
    )
    assert start.astimezone(NY) == local(2026, 6, 3, 8, 0)


def test_later_today_preference_waits_three_hours() -> None:
    """ "Later today" at 10:00 is not before 13:00."""
    start, _ = schedule(
        local(2026, 6, 2, 10, 0), sla_minutes=60, tz=NY, window=WINDOW, preference="later_today"
    )
    assert start.astimezone(NY) == local(2026, 6, 2, 13, 0)


def test_callee_zone_decides_not_ours() -> None:
    """09:00 in New York is 06:00 in Los Angeles: not allowed there."""
    at = local(2026, 6, 2, 9, 0)
    assert is_allowed(at, NY, WINDOW)
    assert not is_allowed(at, ZoneInfo("America/Los_Angeles"), WINDOW)
