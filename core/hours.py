"""Calling hours in the callee's local time (zoneinfo), computed in and returned as UTC.

The one definition of the window maths: callbacks (``callbacks.policy``) and survey calls
(``core.reachability``) both read it, so "may we call now" cannot differ between them.

Decisions:
    * The window (``CALLING_HOURS``, default 08:00-21:00) is start-inclusive, end-exclusive;
      a due time exactly at the end still counts as inside. An end of ``24:00`` is the end
      of the day, so ``00:00-24:00`` allows every hour.
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
END_OF_DAY = time.max  # what "24:00" reads as: no moment of the day is past it


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"08:00-21:00"`` -> Window; raises ValueError on anything else."""
        start_s, _, end_s = text.partition("-")
        end = END_OF_DAY if end_s.strip() == "24:00" else time.fromisoformat(end_s.strip())
        window = cls(time.fromisoformat(start_s.strip()), end)
        if window.start >= window.end:
            raise ValueError(f"calling hours {text!r} must start before they end")
        return window

    @property
    def all_day(self) -> bool:
        """``00:00-24:00``: no night to avoid, so nothing waits for the next morning."""
        return self.start == time.min and self.end == END_OF_DAY


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
    local = at.astimezone(tz).time()
    return window.start <= local and (local < window.end or window.end == END_OF_DAY)


def next_allowed(at: datetime, tz: ZoneInfo, window: Window) -> datetime:
    """The first moment at or after ``at`` inside the window (UTC)."""
    local = at.astimezone(tz)
    if local.time() < window.start:
        return _opening(local, window, tz).astimezone(UTC)
    if not is_allowed(at, tz, window):
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
    if due > closing and fits_in_a_day and not window.all_day:
        start = next_opening(start, tz, window)
        due = start + timedelta(minutes=sla_minutes)
    return start, due
