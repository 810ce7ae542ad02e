"""What the Themes page and ``GET /api/themes`` show: themes ranked by how many comments a
period holds, with the share of flagged calls, the average NPS answer, weekly counts, the
rising test and the comments closest to each theme's centroid.

The caller passes who may see what (a condition on ``CallSession``, ``core.access``) and,
for the page, what "flagged" means (the dashboard's flag rules), so one query serves both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, exists, literal, select

from core.db import db
from core.models import Answer, CallSession, Question, QuestionKind, Recording
from themes import rising, store
from themes.models import Theme, ThemeComment

QUOTES = 3


@dataclass(frozen=True)
class Quote:
    session_id: int
    recording_id: int
    text: str


@dataclass
class ThemeRow:
    id: int
    name: str
    renamed: bool
    count: int = 0  # comments in the period
    flagged: int = 0  # of which the call is flagged
    nps_sum: int = 0
    nps_answers: int = 0
    weekly: list[int] = field(default_factory=list)  # oldest week first, this week last
    test: rising.Test | None = None
    quotes: list[Quote] = field(default_factory=list)

    @property
    def flagged_share(self) -> float | None:
        return self.flagged / self.count if self.count else None

    @property
    def nps_average(self) -> float | None:
        return self.nps_sum / self.nps_answers if self.nps_answers else None

    @property
    def rising(self) -> bool:
        return self.test is not None and self.test.rising


@dataclass
class Report:
    rows: list[ThemeRow]
    since: datetime
    now: datetime
    weeks: list[datetime]  # the Monday of each sparkline week
    unthemed: int  # comments of the period not in a theme (yet)


def _nps() -> ColumnElement[int]:
    """The call's NPS answer (0-10), or NULL."""
    return (
        select(Answer.value)
        .join(Question, Answer.question_id == Question.id)
        .where(
            Answer.session_id == CallSession.id,
            Question.kind == QuestionKind.NPS,
            Answer.value.is_not(None),
        )
        .order_by(Answer.id)
        .limit(1)
        .correlate(CallSession)
        .scalar_subquery()
    )


def build(
    scope: ColumnElement[bool],
    days: int,
    now: datetime,
    *,
    weeks: int = 8,
    flagged: ColumnElement[bool] | None = None,
) -> Report:
    """Themes with comments in the ``days`` before ``now``, largest first."""
    since = now - timedelta(days=days)
    this_week = rising.week_start(now)
    history = max(weeks - 1, rising.BASELINE_WEEKS)
    starts = [this_week - timedelta(weeks=n) for n in range(history, -1, -1)]
    earliest = min(since, starts[0])
    flag = case((flagged, 1), else_=0) if flagged is not None else literal(0)
    rows = db.session.execute(
        select(
            ThemeComment.theme_id,
            ThemeComment.said_at,
            ThemeComment.recording_id,
            ThemeComment.session_id,
            ThemeComment.similarity,
            flag,
            _nps(),
        )
        .join(CallSession, ThemeComment.session_id == CallSession.id)
        .where(scope, ThemeComment.said_at >= earliest, ThemeComment.said_at <= now)
    ).all()

    found: dict[int, ThemeRow] = {}
    weekly: dict[int, list[int]] = defaultdict(lambda: [0] * len(starts))
    best: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    unthemed = 0
    for theme_id, said_at, recording_id, session_id, similarity, is_flagged, nps in rows:
        if said_at >= starts[0]:
            index = min(len(starts) - 1, int((said_at - starts[0]) / timedelta(weeks=1)))
            if theme_id is not None:
                weekly[theme_id][index] += 1
        if said_at < since:
            continue
        if theme_id is None:
            unthemed += 1
            continue
        row = found.setdefault(theme_id, ThemeRow(theme_id, "", False))
        row.count += 1
        row.flagged += int(is_flagged or 0)
        if nps is not None:
            row.nps_sum += int(nps)
            row.nps_answers += 1
        best[theme_id].append((similarity or 0.0, recording_id, session_id))

    themes = {t.id: t for t in db.session.scalars(select(Theme).where(Theme.id.in_(found)))}
    quotes = _quotes(best)
    for theme_id, row in found.items():
        theme = themes[theme_id]
        row.name, row.renamed = theme.name, theme.renamed
        counts = weekly[theme_id]
        row.weekly = counts[-weeks:]
        row.test = rising.test(counts[-1], counts[:-1])
        row.quotes = quotes.get(theme_id, [])
    ranked = sorted(found.values(), key=lambda r: (-r.count, r.name.lower(), r.id))
    return Report(ranked, since, now, starts[-weeks:], unthemed)


def _quotes(best: dict[int, list[tuple[float, int, int]]]) -> dict[int, list[Quote]]:
    """The ``QUOTES`` comments closest to each theme's centroid, with their words; a comment
    said word for word by several callers is quoted once."""
    shortlist = {
        theme_id: sorted(candidates, key=lambda c: (-c[0], -c[1]))[: QUOTES * 4]
        for theme_id, candidates in best.items()
    }
    ids = [recording_id for picks in shortlist.values() for _, recording_id, _ in picks]
    rows = db.session.execute(
        select(Recording.id, Recording.transcript).where(Recording.id.in_(ids))
    ).all()
    texts = {recording_id: (text or "").strip() for recording_id, text in rows}
    quotes: dict[int, list[Quote]] = {}
    for theme_id, picks in shortlist.items():
        chosen: list[Quote] = []
        seen: set[str] = set()
        for _, recording_id, session_id in picks:
            text = texts.get(recording_id, "")
            key = " ".join(text.lower().split())
            if text and key not in seen and len(chosen) < QUOTES:
                seen.add(key)
                chosen.append(Quote(session_id, recording_id, text))
        quotes[theme_id] = chosen
    return quotes


def in_theme(theme_id: int) -> ColumnElement[bool]:
    """Condition on ``CallSession``: a comment of the call is in this theme (or, for a
    theme merged away, in the theme it was merged into)."""
    return exists(
        select(ThemeComment.id).where(
            ThemeComment.session_id == CallSession.id,
            ThemeComment.theme_id == store.resolve(theme_id),
        )
    )


def theme_name(theme_id: int) -> str | None:
    theme = db.session.get(Theme, theme_id)
    return theme.name if theme is not None else None


def live_choices(scope: ColumnElement[bool]) -> list[tuple[int, str]]:
    """(id, name) of live themes with a comment the viewer may see, by name: merge targets."""
    visible = exists(
        select(ThemeComment.id)
        .join(CallSession, ThemeComment.session_id == CallSession.id)
        .where(ThemeComment.theme_id == Theme.id, scope)
    )
    rows = db.session.execute(
        select(Theme.id, Theme.name)
        .where(Theme.merged_into_id.is_(None), Theme.size > 0, visible)
        .order_by(Theme.name, Theme.id)
    ).all()
    return [(r[0], r[1]) for r in rows]
