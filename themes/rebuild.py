"""Recomputing every theme at once (``flask --app ivr themes rebuild``), keeping what people
and earlier days decided wherever the new grouping allows.

1. Every comment is grouped afresh (``grouping.group``) from its stored embedding.
2. A new group takes over the theme (followed through merges) that at least half of its
   comments were in. When several groups claim one theme, a theme a manager renamed or
   merged into takes them all (their decision stands); otherwise the largest keeps it and
   the others become new themes. Unclaimed groups become new themes.
3. A comment keeps its old theme if that theme lives on and the comment is still at least
   ``grouping.JOIN_SIMILARITY`` alike to its new centroid; otherwise it takes its group's.
4. Machine names are chosen again from the final members; manager names stay. A theme left
   with no comments is kept (empty), so its name and alerts survive for history.

``fresh=True`` ignores step 2-3 (old assignments) but still keeps renamed themes' names when
a group matches them.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select

from core.db import db, utcnow
from themes import assign, grouping, naming, store
from themes.models import Theme, ThemeComment
from transcription.embeddings import MiniLMEmbedder, get_embedder


@dataclass
class RebuildReport:
    comments: int = 0
    themes: int = 0
    kept: int = 0  # themes that live on under their id
    created: int = 0
    unthemed: int = 0
    moved: int = 0  # comments whose theme changed
    seconds: dict[str, float] = field(default_factory=dict)


def _merge_targets() -> set[int]:
    rows = db.session.scalars(select(Theme.merged_into_id).where(Theme.merged_into_id.is_not(None)))
    return {store.resolve(t) for t in rows if t is not None}


def _claims(labels: np.ndarray, old: list[int | None], count: int) -> dict[int, int]:
    """group -> old theme it takes over (at least half its comments were there)."""
    claims: dict[int, int] = {}
    for label in range(count):
        members = np.flatnonzero(labels == label)
        votes: Counter[int] = Counter(t for t in (old[i] for i in members) if t is not None)
        if votes:
            theme_id, n = votes.most_common(1)[0]
            if 2 * n >= len(members):
                claims[label] = theme_id
    return claims


def _owners(
    labels: np.ndarray, claims: dict[int, int], count: int, protected: set[int]
) -> dict[int, int | None]:
    """group -> old theme id it keeps (None: a new theme)."""
    by_theme: dict[int, list[int]] = defaultdict(list)
    for label, theme_id in claims.items():
        by_theme[theme_id].append(label)
    owners: dict[int, int | None] = dict.fromkeys(range(count))
    for theme_id, groups in by_theme.items():
        if theme_id in protected:
            keep = groups
        else:
            keep = [max(groups, key=lambda g: (int((labels == g).sum()), -g))]
        for label in keep:
            owners[label] = theme_id
    return owners


def rebuild(
    now: datetime | None = None,
    *,
    fresh: bool = False,
    embedder: MiniLMEmbedder | None = None,
) -> RebuildReport:
    """Recompute every theme from the stored embeddings (reading new comments first)."""
    now = now or utcnow()
    report = RebuildReport()
    with store.exclusive():
        store.drop_erased()
        db.session.commit()
        started = time.perf_counter()
        assign.read_new(embedder or get_embedder(), now)
        report.seconds["embedding"] = time.perf_counter() - started

        started = time.perf_counter()
        comments = list(db.session.scalars(select(ThemeComment).order_by(ThemeComment.id)))
        report.comments = len(comments)
        if not comments:
            return report
        vectors = store.vectors(comments)
        labels = grouping.group(vectors)
        report.seconds["clustering"] = time.perf_counter() - started

        started = time.perf_counter()
        themes = {t.id: t for t in db.session.scalars(select(Theme))}
        resolved = {t: store.resolve(t) for t in themes}
        old = [resolved[c.theme_id] if c.theme_id else None for c in comments]
        renamed = {t.id for t in themes.values() if t.renamed and t.merged_into_id is None}
        count = int(labels.max()) + 1 if labels.max() >= 0 else 0
        claims = _claims(labels, old, count)
        if fresh:  # only a manager's name is carried over to the group that matches it
            claims = {g: t for g, t in claims.items() if t in renamed}
        owners = _owners(labels, claims, count, renamed | _merge_targets())

        group_theme: dict[int, Theme] = {}
        for label in range(count):
            owner = owners[label]
            if owner is None:
                theme = Theme(name=naming.UNNAMED, created_at=now)
                db.session.add(theme)
                report.created += 1
            else:
                theme = themes[owner]
            group_theme[label] = theme
        db.session.flush()
        report.kept = len({t.id for t in group_theme.values()}) - report.created

        final: list[Theme | None] = [group_theme[g] if g >= 0 else None for g in labels]
        if not fresh:
            _keep_old_themes(final, old, themes, vectors, labels, group_theme)
        _write(comments, final, vectors, themes, group_theme, now, report)
        report.seconds["saving"] = time.perf_counter() - started
        db.session.commit()
    return report


def _keep_old_themes(
    final: list[Theme | None],
    old: list[int | None],
    themes: dict[int, Theme],
    vectors: np.ndarray,
    labels: np.ndarray,
    group_theme: dict[int, Theme],
) -> None:
    """Step 3: a comment stays in its old theme while it is alike enough to it."""
    kept_ids = {t.id for t in group_theme.values()}
    members: dict[int, list[int]] = defaultdict(list)
    for index, theme in enumerate(final):
        if theme is not None:
            members[theme.id].append(index)
    centres = {
        theme_id: grouping.unit(vectors[rows].astype(np.float64).sum(axis=0)[None, :])[0]
        for theme_id, rows in members.items()
    }
    for index, previous in enumerate(old):
        if previous is None or previous not in kept_ids or previous not in centres:
            continue
        current = final[index]
        if current is not None and current.id == previous:
            continue
        if float(vectors[index] @ centres[previous]) >= grouping.JOIN_SIMILARITY:
            final[index] = themes[previous]


def _write(
    comments: list[ThemeComment],
    final: list[Theme | None],
    vectors: np.ndarray,
    themes: dict[int, Theme],
    group_theme: dict[int, Theme],
    now: datetime,
    report: RebuildReport,
) -> None:
    members: dict[int, list[int]] = defaultdict(list)
    for index, theme in enumerate(final):
        if theme is not None:
            members[theme.id].append(index)
    every = {**themes, **{t.id: t for t in group_theme.values()}}
    for theme_id, theme in every.items():
        store.set_members(theme, vectors[members.get(theme_id, [])])
    centres = {t.id: store.centroid(t, vectors.shape[1]) for t in every.values() if t.size}
    for index, (comment, theme) in enumerate(zip(comments, final, strict=True)):
        new_id = theme.id if theme is not None else None
        if new_id != comment.theme_id:
            report.moved += 1
            comment.theme_id, comment.assigned_at = new_id, now
        comment.similarity = None if new_id is None else float(vectors[index] @ centres[new_id])
    live = [t for t in every.values() if t.size > 0 and t.merged_into_id is None]
    assign.name_themes(live, force=True)
    report.themes = len(live)
    report.unthemed = sum(1 for t in final if t is None)
