"""Calling hours in the callee's local time (zoneinfo), computed in and returned as UTC.

Decisions:
    * The window (``CALLING_HOURS``, default 08:00-21:00) is start-inclusive, end-exclusive;
      a due time exactly at the end still counts as inside.
    * A task whose SLA deadline would fall after the window closes starts at the next
      opening instead, so no SLA is breached overnight and nobody is called at 21:05.
    * "later_today" means not before three hours from now (still today, if the window
      allows); "tomorrow" means the next local day's opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LATER_TODAY = timedelta(hours=3)


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"08:00-21:00"`` -> Window; raises ValueError on anything else."""
        start_s, _, end_s = text.partition("-")
        window = cls(time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip()))
        if window.start >= window.end:
            raise ValueError(f"calling hours {text!r} must start before they end")
        return window


def zone(name: str | None, default: str) -> ZoneInfo:
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _opening(day: datetime, window: Window, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), window.start, tzinfo=tz)


def _closing(day: datetime, window: Window, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), window.end, tzinfo=tz)


def is_allowed(at: datetime, tz: ZoneInfo, window: Window) -> bool:
    local = at.astimezone(tz)
    return window.start <= local.time() < window.end


def next_allowed(at: datetime, tz: ZoneInfo, window: Window) -> datetime:
    """The first moment at or after ``at`` inside the window (UTC)."""
    local = at.astimezone(tz)
    if local.time() < window.start:
        return _opening(local, window, tz).astimezone(UTC)
    if local.time() >= window.end:
        return _opening(local + timedelta(days=1), window, tz).astimezone(UTC)
    return at.astimezone(UTC)


def next_opening(at: datetime, tz: ZoneInfo, window: Window) -> datetime:
    """The next window opening strictly after the local day of ``at`` (UTC)."""
    local = at.astimezone(tz)
    return _opening(local + timedelta(days=1), window, tz).astimezone(UTC)


def earliest(now: datetime, preference: str | None, tz: ZoneInfo, window: Window) -> datetime:
    """The caller's chosen moment (now / later_today / tomorrow), before calling hours."""
    if preference == "tomorrow":
        return next_opening(now, tz, window)
    if preference == "later_today":
        return now + LATER_TODAY
    return now


def schedule(
    now: datetime,
    *,
    sla_minutes: int,
    tz: ZoneInfo,
    window: Window,
    preference: str | None = None,
) -> tuple[datetime, datetime]:
    """(scheduled_for, due_at) in UTC for a task created at ``now``."""
    start = next_allowed(earliest(now, preference, tz, window), tz, window)
    due = start + timedelta(minutes=sla_minutes)
    closing = _closing(start.astimezone(tz), window, tz)
    opening = _opening(start.astimezone(tz), window, tz)
    fits_in_a_day = timedelta(minutes=sla_minutes) <= closing - opening
    if due > closing and fits_in_a_day:
        start = next_opening(start, tz, window)
        due = start + timedelta(minutes=sla_minutes)
    return start, due
