"""The flagged-calls list: filters from the query string, one paged query, rows to show."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from callbacks import links
from core.db import db
from core.models import Answer, CallSession, QuestionKind, Recording, SurveyVersion, User
from dashboard import flags
from dashboard.access import scoped_sessions
from dashboard.args import date_arg, int_arg
from themes import report as theme_report

PER_PAGE = 25
SNIPPET_CHARS = 140


@dataclass(frozen=True)
class Filters:
    """What the manager asked to see; built from (and turned back into) the query string."""

    reasons: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    survey_id: int | None = None
    agent_id: int | None = None
    callback_state: str = ""
    sla: str = ""  # "", "met" or "missed"
    include_tests: bool = False
    theme_id: int | None = None  # calls with a comment in this theme (Themes page link)
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        getlist = getattr(args, "getlist", None)
        raw_reasons: Sequence[str] = getlist("reason") if getlist else args.get("reason", [])
        return cls(
            reasons=tuple(r for r in raw_reasons if r in flags.REASONS),
            date_from=date_arg(args.get("from")),
            date_to=date_arg(args.get("to")),
            survey_id=int_arg(args.get("survey")),
            agent_id=int_arg(args.get("agent")),
            callback_state=args.get("callback", "") or "",
            sla=args.get("sla", "") if args.get("sla") in ("met", "missed") else "",
            include_tests=args.get("tests") == "1",
            theme_id=int_arg(args.get("theme")),
            page=max(1, int_arg(args.get("page")) or 1),
        )

    def to_args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for these filters (with ``changes``), for links."""
        values: dict[str, Any] = {
            "reason": list(self.reasons),
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "survey": self.survey_id,
            "agent": self.agent_id,
            "callback": self.callback_state or None,
            "sla": self.sla or None,
            "tests": "1" if self.include_tests else None,
            "theme": self.theme_id,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "", [])}


def flagged_select(user: User, filters: Filters) -> Select[Any]:
    """Flagged sessions the user may see, filtered; newest first. No paging yet."""
    stmt = scoped_sessions(select(CallSession), user)
    if filters.reasons:
        stmt = stmt.where(db.or_(*(flags.reason_condition(r) for r in filters.reasons)))
    else:
        stmt = stmt.where(flags.any_reason_condition())
    if not filters.include_tests:
        stmt = stmt.where(CallSession.is_test.is_(False))
    if filters.date_from:
        stmt = stmt.where(
            CallSession.created_at >= datetime.combine(filters.date_from, time.min, UTC)
        )
    if filters.date_to:
        end = datetime.combine(filters.date_to, time.min, UTC) + timedelta(days=1)
        stmt = stmt.where(CallSession.created_at < end)
    if filters.survey_id:
        stmt = stmt.where(SurveyVersion.survey_id == filters.survey_id)
    if filters.agent_id:
        stmt = stmt.where(links.agent_condition(filters.agent_id))
    if filters.callback_state:
        stmt = stmt.where(links.state_condition(filters.callback_state))
    if filters.sla:
        stmt = stmt.where(links.sla_condition(filters.sla == "met"))
    if filters.theme_id:
        stmt = stmt.where(theme_report.in_theme(filters.theme_id))
    return stmt


def _eager(stmt: Select[Any]) -> Select[Any]:
    return stmt.options(
        selectinload(CallSession.answers).selectinload(Answer.question),
        selectinload(CallSession.recordings),
        selectinload(CallSession.contact),
        selectinload(CallSession.survey_version).selectinload(SurveyVersion.survey),
    )


@dataclass
class Row:
    """One line of the flagged list (and of the CSV)."""

    session: CallSession
    reasons: list[flags.Reason]
    scores: dict[str, int | None]
    snippet: str
    callback: links.TaskSummary | None

    @property
    def caller(self) -> str:
        return mask_number(self.session.customer_number)

    @property
    def survey_name(self) -> str:
        version = self.session.survey_version
        return version.survey.name if version else ""

    @property
    def time_to_callback(self) -> timedelta | None:
        if self.callback is None or self.callback.first_attempt_at is None:
            return None
        return self.callback.first_attempt_at - self.session.created_at


@dataclass
class Page:
    rows: list[Row]
    total: int
    page: int
    per_page: int = PER_PAGE
    filters: Filters = field(default_factory=Filters)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def mask_number(number: str) -> str:
    """Only the last four digits of a phone number are shown."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 4:
        return "••••"
    return "••• ••• " + digits[-4:]


def scores_of(session: CallSession) -> dict[str, int | None]:
    """NPS and CSAT answers (first of each kind), by kind."""
    scores: dict[str, int | None] = {}
    for answer in session.answers:
        kind = answer.question.kind
        if kind in (QuestionKind.NPS, QuestionKind.CSAT) and kind.value not in scores:
            scores[kind.value] = answer.value
    return scores


def transcript_of(session: CallSession) -> str:
    return " ".join(r.transcript for r in session.recordings if r.transcript)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def build_rows(sessions: Sequence[CallSession]) -> list[Row]:
    """Rows for loaded sessions, with the callback state fetched in one query."""
    callbacks = links.summaries([s.id for s in sessions])
    return [
        Row(
            session=s,
            reasons=flags.reasons_for(s),
            scores=scores_of(s),
            snippet=snippet(transcript_of(s)),
            callback=callbacks.get(s.id),
        )
        for s in sessions
    ]


def flagged_page(user: User, filters: Filters, per_page: int = PER_PAGE) -> Page:
    """One page of the flagged list: a count, one query for the sessions, eager loads."""
    stmt = flagged_select(user, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = min(filters.page, max(1, math.ceil(total / per_page)))
    sessions = db.session.scalars(
        _eager(stmt)
        .order_by(CallSession.created_at.desc(), CallSession.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(build_rows(sessions), total, page, per_page, filters)


def all_flagged(user: User, filters: Filters, batch: int = 500) -> list[Row]:
    """Every row matching the filters (the CSV export), loaded in batches."""
    stmt = _eager(flagged_select(user, filters)).order_by(
        CallSession.created_at.desc(), CallSession.id.desc()
    )
    rows: list[Row] = []
    offset = 0
    while True:
        chunk = db.session.scalars(stmt.limit(batch).offset(offset)).all()
        rows.extend(build_rows(chunk))
        if len(chunk) < batch:
            return rows
        offset += batch


def session_detail(session_id: int) -> CallSession | None:
    """One session with everything the detail page shows, eagerly loaded."""
    return db.session.scalar(_eager(select(CallSession)).where(CallSession.id == session_id))


def recording(recording_id: int) -> Recording | None:
    return db.session.scalar(
        select(Recording)
        .where(Recording.id == recording_id)
        .options(selectinload(Recording.session).selectinload(CallSession.survey_version))
    )
