"""Theming as comments arrive (the ``assign_themes`` job, after each analysed recording and
every few minutes): stable from day to day.

1. New analysed comments are embedded once (MiniLM, ``transcription.embeddings``) and kept
   as waiting rows, a batch per commit, so a job that dies half-way loses nothing.
2. Each waiting comment of the last ``WAITING_DAYS`` joins the theme whose centroid it is
   most alike, at ``grouping.JOIN_SIMILARITY`` or more. A comment that has a theme keeps it.
3. Waiting comments alike enough among themselves (``grouping.group``) start a new theme,
   but only as a group of ``grouping.MIN_THEME_SIZE`` or more.
4. New themes are named; a machine-named theme is named again when it has doubled since it
   was last named (a manager's name is never changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select

from core.db import db, utcnow
from themes import grouping, naming, store
from themes.models import Theme, ThemeComment
from transcription.embeddings import MiniLMEmbedder, get_embedder

BATCH = 128
WAITING_DAYS = 90


@dataclass
class AssignReport:
    read: int = 0  # new comments embedded
    joined: int = 0  # waiting comments that joined a theme
    new_themes: int = 0
    waiting: int = 0  # still without a theme
    forgotten: int = 0  # erased since the last run
    renamed: int = 0


def read_new(embedder: MiniLMEmbedder, now: datetime) -> int:
    """Embed analysed comments that have no row yet and keep them, waiting; committed."""
    read = 0
    while batch := store.comments_to_read(BATCH):
        embeddings = embedder.encode([c.text for c in batch])
        for comment, vector in zip(batch, embeddings, strict=True):
            db.session.add(
                ThemeComment(
                    recording_id=comment.recording_id,
                    session_id=comment.session_id,
                    said_at=comment.said_at,
                    embedding=store.pack(vector),
                    assigned_at=now,
                )
            )
        db.session.commit()
        read += len(batch)
    return read


def waiting(now: datetime) -> list[ThemeComment]:
    """Comments of the last ``WAITING_DAYS`` without a theme, oldest first."""
    return list(
        db.session.scalars(
            select(ThemeComment)
            .where(
                ThemeComment.theme_id.is_(None),
                ThemeComment.said_at >= now - timedelta(days=WAITING_DAYS),
            )
            .order_by(ThemeComment.said_at, ThemeComment.id)
        )
    )


def join_nearest(comments: Sequence[ThemeComment], themes: list[Theme], now: datetime) -> int:
    """Each comment joins its most alike theme if alike enough; centroids move as they do."""
    if not comments or not themes:
        return 0
    vectors = store.vectors(comments)
    dim = vectors.shape[1]
    centres = np.stack([store.centroid(t, dim) for t in themes])
    joined = 0
    for comment, vector in zip(comments, vectors, strict=True):
        [best], [score] = grouping.nearest(vector[None, :], centres)
        if best < 0:
            continue
        theme = themes[best]
        store.add_to(theme, vector)
        centres[best] = store.centroid(theme, dim)
        comment.theme_id, comment.similarity, comment.assigned_at = theme.id, float(score), now
        joined += 1
    return joined


def start_themes(comments: Sequence[ThemeComment], now: datetime) -> list[Theme]:
    """New themes from groups of waiting comments (the newest ``grouping.MAX_LINKED``)."""
    pool = list(comments)[-grouping.MAX_LINKED :]
    if len(pool) < grouping.MIN_THEME_SIZE:
        return []
    vectors = store.vectors(pool)
    labels = grouping.group(vectors)
    created = []
    for label in range(int(labels.max()) + 1 if len(labels) else 0):
        members = np.flatnonzero(labels == label)
        theme = Theme(name=naming.UNNAMED, created_at=now)
        store.set_members(theme, vectors[members])
        db.session.add(theme)
        db.session.flush()
        centre = store.centroid(theme, vectors.shape[1])
        for index in members:
            comment = pool[index]
            comment.theme_id, comment.assigned_at = theme.id, now
            comment.similarity = float(vectors[index] @ centre)
        created.append(theme)
    return created


def refresh_similarity(theme: Theme) -> None:
    """Each member's cosine to the theme's centroid as it is now (the quotes use it)."""
    members = list(
        db.session.scalars(select(ThemeComment).where(ThemeComment.theme_id == theme.id))
    )
    if not members:
        return
    vectors = store.vectors(members)
    scores = vectors @ store.centroid(theme, vectors.shape[1])
    for comment, score in zip(members, scores, strict=True):
        comment.similarity = float(score)


def name_themes(themes: Sequence[Theme], force: bool = False) -> int:
    """Name new themes, and machine-named ones that doubled since; every live theme's
    comments are the background their distinctive words stand out from."""
    due = [
        t
        for t in themes
        if not t.renamed and (force or t.named_at_size == 0 or t.size >= 2 * t.named_at_size)
    ]
    if not due:
        return 0
    texts = store.texts_by_theme([t.id for t in themes])
    chosen = naming.names([texts[t.id] for t in themes])
    names = dict(zip([t.id for t in themes], chosen, strict=True))
    for theme in due:
        theme.name = names[theme.id]
        theme.named_at_size = theme.size
        if not force:
            refresh_similarity(theme)
    return len(due)


def assign_new(now: datetime | None = None, embedder: MiniLMEmbedder | None = None) -> AssignReport:
    """Read new comments, place waiting ones and start themes; safe to run any time."""
    now = now or utcnow()
    report = AssignReport()
    with store.exclusive():
        report.forgotten = store.drop_erased()
        db.session.commit()
        report.read = read_new(embedder or get_embedder(), now)
        pending = waiting(now)
        report.joined = join_nearest(pending, store.live_themes(), now)
        still = [c for c in pending if c.theme_id is None]
        created = start_themes(still, now)
        report.new_themes = len(created)
        db.session.flush()
        report.renamed = name_themes(store.live_themes()) - len(created)
        report.waiting = sum(1 for c in still if c.theme_id is None)
        db.session.commit()
    return report
