"""The audit trail for admins: who listened to or downloaded which recording, who erased
which caller (by hash), and every opt-out and do-not-call change; filtered, paged, CSV.

It reads the event log only: plays and downloads are written by ``dashboard.audio``
(one event per play from the start, not per seek), erasures by ``dashboard.erasure`` and
list changes by ``core.suppression`` / ``dashboard.dnc``. None of them hold a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from core.db import db
from core.models import Event, User
from dashboard.args import date_arg, int_arg
from dashboard.exports import _cell as cell  # the one spreadsheet-formula guard

PER_PAGE = 50
MAX_EXPORT_ROWS = 100_000
NOBODY = "none"  # the "who" filter for events no signed-in person caused

# Filter name -> (label, event kinds).
CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "listened": ("Listened / downloaded", ("recording.played", "recording.downloaded")),
    "erased": ("Caller erased", ("caller.data_deleted",)),
    "dnc": ("Do-not-call changes", ("dnc.added", "dnc.removed", "dnc.imported")),
    "opt_out": ("Opt-outs", ("opt_out.added", "opt_out.removed")),
}
LABELS = {
    "recording.played": "Played recording",
    "recording.downloaded": "Downloaded recording",
    "caller.data_deleted": "Erased caller",
    "dnc.added": "Added to do-not-call",
    "dnc.removed": "Removed from do-not-call",
    "dnc.imported": "Imported do-not-call list",
    "opt_out.added": "Opted out",
    "opt_out.removed": "Opt-out lifted",
}
ALL_KINDS = tuple(k for _, kinds in CATEGORIES.values() for k in kinds)
# Who acted when no user did: the caller themself on the phone, or the bearer API.
CALLER_SOURCES = {"keypad", "voice", "comment", "migration"}


@dataclass(frozen=True)
class AuditFilters:
    category: str = ""
    user: str = ""  # a user id, NOBODY, or "" for everyone
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> AuditFilters:
        category = args.get("kind", "")
        user = args.get("user", "")
        try:
            page = max(1, int(args.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            category=category if category in CATEGORIES else "",
            user=user if user == NOBODY or int_arg(user) is not None else "",
            date_from=date_arg(args.get("from")),
            date_to=date_arg(args.get("to")),
            page=page,
        )

    def to_args(self, **changes: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "kind": self.category or None,
            "user": self.user or None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None}

    def query(self) -> Select[Event, str]:  # email is None for events no user caused
        kinds = CATEGORIES[self.category][1] if self.category else ALL_KINDS
        stmt = (
            select(Event, User.email)
            .outerjoin(User, Event.user_id == User.id)
            .where(Event.kind.in_(kinds))
        )
        if self.user == NOBODY:
            stmt = stmt.where(Event.user_id.is_(None))
        elif self.user:
            stmt = stmt.where(Event.user_id == int(self.user))
        if self.date_from:
            stmt = stmt.where(Event.at >= datetime.combine(self.date_from, time.min, UTC))
        if self.date_to:  # the whole "to" day counts
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, UTC)
            stmt = stmt.where(Event.at < end)
        return stmt


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    kind: str
    label: str
    who: str
    session_id: int | None
    recording_id: int | None
    number_hash: str | None
    details: str


def who(event: Event, email: str | None) -> str:
    if email:
        return email
    source = str(event.data.get("source", ""))
    if source in CALLER_SOURCES:
        return "the caller" if source != "migration" else "migration"
    return "API (bearer token)"


def details(event: Event) -> str:
    """What happened, in words, from the event's data (which never holds a number)."""
    data = event.data
    if event.kind == "caller.data_deleted":
        kept = ", ".join(data.get("suppressions_kept") or []) or "nothing"
        return (
            f"{data.get('sessions', 0)} call(s), {data.get('recordings', 0)} recording(s); "
            f"suppressions kept: {kept}"
        )
    if event.kind == "dnc.imported":
        return (
            f"added {data.get('added', 0)}, already listed {data.get('already', 0)}, "
            f"invalid rows {data.get('invalid', 0)}"
        )
    if event.kind.startswith(("dnc.", "opt_out.")):
        return f"source: {data.get('source', '')}"
    return ""


def to_row(event: Event, email: str | None) -> AuditRow:
    recording_id = event.data.get("recording_id")
    return AuditRow(
        at=event.at,
        kind=event.kind,
        label=LABELS.get(event.kind, event.kind),
        who=who(event, email),
        session_id=event.session_id,
        recording_id=recording_id if isinstance(recording_id, int) else None,
        number_hash=event.data.get("number_hash") or event.data.get("number_digest"),
        details=details(event),
    )


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


def page_of(filters: AuditFilters) -> AuditPage:
    """One page of the filtered trail, newest first."""
    stmt = filters.query()
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(filters.page, pages)
    found = db.session.execute(
        stmt.order_by(Event.at.desc(), Event.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return AuditPage([to_row(e, email) for e, email in found], total, page, pages)


def all_rows(filters: AuditFilters) -> Iterable[AuditRow]:
    """Every row the filters match (up to MAX_EXPORT_ROWS), newest first, for export."""
    stmt = filters.query().order_by(Event.at.desc(), Event.id.desc()).limit(MAX_EXPORT_ROWS)
    for event, email in db.session.execute(stmt.execution_options(yield_per=500)):
        yield to_row(event, email)


HEADER = ["time_utc", "what", "who", "call_id", "recording_id", "number_hash", "details"]


def to_csv(rows: Iterable[AuditRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                cell(row.at.strftime("%Y-%m-%d %H:%M:%S")),
                cell(row.label),
                cell(row.who),
                cell(row.session_id),
                cell(row.recording_id),
                cell(row.number_hash),
                cell(row.details),
            ]
        )
    return out.getvalue()


def people() -> list[User]:
    """Everyone who could appear in the trail, for the "who" filter."""
    return list(db.session.scalars(select(User).order_by(User.email)))
