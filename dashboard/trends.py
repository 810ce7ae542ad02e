"""Survey and callback figures per day or week and per survey (test calls excluded)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, exists, select

from callbacks import links
from core.db import db, utcnow
from core.models import Answer, CallSession, Question, QuestionKind, Survey, SurveyOutcome, User
from dashboard import flags
from dashboard.access import scoped_sessions
from dashboard.args import date_arg, int_arg

GRANULARITIES = ("day", "week")
DEFAULT_DAYS = 30


@dataclass
class Bucket:
    """Raw counts for one period (or one survey); the figures are properties."""

    key: str
    label: str
    calls: int = 0
    responded: int = 0
    completed: int = 0
    flagged: int = 0
    nps: list[int] = field(default_factory=list)
    csat: list[int] = field(default_factory=list)
    sla_decided: int = 0
    sla_met: int = 0
    first_attempt_minutes: list[float] = field(default_factory=list)
    followed_up: int = 0  # callbacks that reached the customer and got a follow-up
    replies: int = 0  # follow-ups the customer answered (1-5)
    recovered: int = 0  # of which 4-5: "we put it right"
    promises_decided: int = 0  # callers told by when to expect a callback, now past or reached
    promises_kept: int = 0  # of which reached by the time they heard

    @property
    def nps_score(self) -> float | None:
        """Promoters (9-10) minus detractors (0-6), in percent of NPS answers."""
        if not self.nps:
            return None
        promoters = sum(1 for v in self.nps if v >= 9)
        detractors = sum(1 for v in self.nps if v <= 6)
        return round(100 * (promoters - detractors) / len(self.nps), 1)

    @property
    def csat_average(self) -> float | None:
        return round(statistics.fmean(self.csat), 2) if self.csat else None

    @property
    def response_rate(self) -> float | None:
        return _pct(self.responded, self.calls)

    @property
    def completion_rate(self) -> float | None:
        return _pct(self.completed, self.calls)

    @property
    def flagged_rate(self) -> float | None:
        return _pct(self.flagged, self.responded)

    @property
    def sla_rate(self) -> float | None:
        return _pct(self.sla_met, self.sla_decided)

    @property
    def promise_rate(self) -> float | None:
        """Callers reached by the time they were told, in percent of promises decided."""
        return _pct(self.promises_kept, self.promises_decided)

    @property
    def recovery_rate(self) -> float | None:
        """Recovered (a follow-up reply of 4-5) in percent of follow-up replies."""
        return _pct(self.recovered, self.replies)

    def add_recovery(self, row: links.Recovery) -> None:
        self.followed_up += 1
        self.replies += row.replied
        self.recovered += row.recovered

    @property
    def median_first_attempt(self) -> float | None:
        if not self.first_attempt_minutes:
            return None
        return round(statistics.median(self.first_attempt_minutes), 1)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class TrendFilters:
    date_from: date
    date_to: date
    granularity: str = "day"
    survey_id: int | None = None

    @classmethod
    def from_args(cls, args: Any, today: date | None = None) -> TrendFilters:
        today = today or utcnow().date()

        def parse(name: str, default: date) -> date:
            return date_arg(args.get(name)) or default

        date_to = parse("to", today)
        date_from = parse("from", date_to - timedelta(days=DEFAULT_DAYS - 1))
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        granularity = args.get("by") if args.get("by") in GRANULARITIES else "day"
        return cls(date_from, date_to, granularity, int_arg(args.get("survey")))


def bucket_start(day: date, granularity: str) -> date:
    return day - timedelta(days=day.weekday()) if granularity == "week" else day


def bucket_label(start: date, granularity: str) -> str:
    return f"wk {start:%d %b}" if granularity == "week" else f"{start:%d %b}"


def periods(filters: TrendFilters) -> list[date]:
    """Every bucket start in the range, so empty days still show as gaps."""
    starts: list[date] = []
    day = bucket_start(filters.date_from, filters.granularity)
    step = timedelta(days=7 if filters.granularity == "week" else 1)
    while day <= filters.date_to:
        starts.append(day)
        day += step
    return starts


@dataclass
class Trends:
    filters: TrendFilters
    series: list[Bucket]
    by_survey: list[Bucket]
    total: Bucket
    by_agent: list[Bucket] = field(default_factory=list)  # callbacks each agent made


def compute(user: User, filters: TrendFilters) -> Trends:
    """A few queries (sessions, answers, callback tasks, promises), aggregated here."""
    start = datetime.combine(filters.date_from, time.min, UTC)
    end = datetime.combine(filters.date_to, time.min, UTC) + timedelta(days=1)
    has_answer = exists(
        select(Answer.id).where(Answer.session_id == CallSession.id, Answer.value.is_not(None))
    )
    stmt = scoped_sessions(
        select(
            CallSession.id,
            CallSession.created_at,
            Survey.id,
            Survey.name,
            CallSession.outcome,
            has_answer.label("responded"),
            flags.any_reason_condition().label("flagged"),
        ),
        user,
    ).where(
        CallSession.is_test.is_(False),
        CallSession.created_at >= start,
        CallSession.created_at < end,
    )
    if filters.survey_id:
        stmt = stmt.where(Survey.id == filters.survey_id)
    sessions = db.session.execute(stmt).all()
    id_query = stmt.with_only_columns(CallSession.id)

    series = {
        p: Bucket(p.isoformat(), bucket_label(p, filters.granularity)) for p in periods(filters)
    }
    surveys: dict[int, Bucket] = {}
    total = Bucket("all", "All surveys")
    place: dict[int, list[Bucket]] = {}
    for sid, created, survey_id, survey_name, outcome, responded, flagged in sessions:
        period = bucket_start(created.date(), filters.granularity)
        buckets = [
            series.setdefault(
                period, Bucket(period.isoformat(), bucket_label(period, filters.granularity))
            ),
            surveys.setdefault(survey_id, Bucket(str(survey_id), survey_name)),
            total,
        ]
        place[sid] = buckets
        for b in buckets:
            b.calls += 1
            b.responded += bool(responded)
            b.completed += outcome is SurveyOutcome.COMPLETED
            b.flagged += bool(flagged)
    for session_id, kind, value in _scores(id_query) if sessions else []:
        for b in place[session_id]:
            (b.nps if kind is QuestionKind.NPS else b.csat).append(value)
    now = utcnow()
    for task in links.opened_by(id_query) if sessions else []:
        first, due = task.first_attempt_at, task.due_at
        for b in place.get(task.session_id, []):
            if first is not None:
                b.first_attempt_minutes.append((first - task.created_at).total_seconds() / 60)
                b.sla_decided += 1
                b.sla_met += first <= due
            elif due < now:
                b.sla_decided += 1
    for session_id, kept in (links.promises_kept(id_query, now) if sessions else {}).items():
        if kept is None:
            continue  # not reached yet, and not yet late
        for b in place.get(session_id, []):
            b.promises_decided += 1
            b.promises_kept += kept
    agents = _recovery(id_query, place) if sessions else []
    return Trends(
        filters,
        [series[k] for k in sorted(series)],
        sorted(surveys.values(), key=lambda b: b.label),
        total,
        agents,
    )


def _recovery(session_ids: Select[Any], place: dict[int, list[Bucket]]) -> list[Bucket]:
    """Follow-up replies into each session's buckets, and one bucket per agent whose call
    reached the customer (with the SLA of those callbacks beside their recovery)."""
    agents: dict[int | None, Bucket] = {}
    for row in links.recoveries(session_ids):
        for b in place.get(row.session_id, []):
            b.add_recovery(row)
        agent = agents.setdefault(
            row.agent_id, Bucket(str(row.agent_id or ""), row.agent or "Unknown agent")
        )
        agent.add_recovery(row)
        if row.sla_met is not None:
            agent.sla_decided += 1
            agent.sla_met += row.sla_met
    return sorted(agents.values(), key=lambda b: b.label.lower())


def _scores(session_ids: Select[Any]) -> Iterable[tuple[int, QuestionKind, int]]:
    rows = db.session.execute(
        select(Answer.session_id, Question.kind, Answer.value)
        .join(Question, Answer.question_id == Question.id)
        .where(
            Answer.session_id.in_(session_ids),
            Answer.value.is_not(None),
            Question.kind.in_([QuestionKind.NPS, QuestionKind.CSAT]),
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows if r[2] is not None]
