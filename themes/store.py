"""Themes in the database: vectors as bytes, live themes, which comments still need a theme,
moving a comment in or out of a theme (its sum and size follow), and one lock for writers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from redis.exceptions import LockError
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from core.db import db
from core.models import CallSession, Recording
from core.redis_client import get_redis
from themes import grouping, naming
from themes.models import Theme, ThemeComment

Vectors = grouping.Vectors
LOCK_NAME = "themes:writer"
LOCK_SECONDS = 900  # longer than a rebuild of tens of thousands of comments


class Busy(Exception):
    """Another job, rebuild or manager's merge is changing themes right now."""


@contextmanager
def exclusive(wait: float = 60.0) -> Iterator[None]:
    """Hold the one writer lock: assignment, rebuild and merges never interleave, so a
    theme's sum and size always match its comments."""
    lock = get_redis().lock(LOCK_NAME, timeout=LOCK_SECONDS, blocking_timeout=wait)
    if not lock.acquire():
        raise Busy("themes are being updated; try again in a minute")
    try:
        yield
    finally:
        with contextlib.suppress(LockError):  # it expired: the work outlasted LOCK_SECONDS
            lock.release()


def pack(vector: npt.NDArray[np.floating]) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def unpack(blob: bytes) -> Vectors:
    return np.frombuffer(blob, dtype=np.float32)


def vectors(comments: Sequence[ThemeComment]) -> Vectors:
    """The comments' embeddings as one (n, dim) array."""
    if not comments:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([unpack(c.embedding) for c in comments])


def theme_sum(theme: Theme, dim: int) -> npt.NDArray[np.float64]:
    if theme.vector_sum is None:
        return np.zeros(dim, dtype=np.float64)
    return np.frombuffer(theme.vector_sum, dtype=np.float64).copy()


def centroid(theme: Theme, dim: int) -> Vectors:
    return grouping.unit(theme_sum(theme, dim)[None, :])[0]


def set_members(theme: Theme, members: Vectors) -> None:
    """Make ``theme``'s sum and size those of ``members`` (rebuild, merge)."""
    theme.size = len(members)
    theme.vector_sum = members.astype(np.float64).sum(axis=0).tobytes() if len(members) else None


def add_to(theme: Theme, vector: Vectors, sign: int = 1) -> None:
    """Add (or with ``sign=-1`` take away) one comment's embedding from ``theme``."""
    total = theme_sum(theme, len(vector)) + sign * vector.astype(np.float64)
    theme.size = max(0, theme.size + sign)
    theme.vector_sum = total.tobytes() if theme.size else None


def live_themes() -> list[Theme]:
    """Themes with comments that were not merged away, oldest first."""
    return list(
        db.session.scalars(
            select(Theme).where(Theme.merged_into_id.is_(None), Theme.size > 0).order_by(Theme.id)
        )
    )


def resolve(theme_id: int) -> int:
    """The theme a (possibly merged) theme's comments now live in."""
    seen: set[int] = set()
    current = theme_id
    while current not in seen:
        seen.add(current)
        target = db.session.scalar(select(Theme.merged_into_id).where(Theme.id == current))
        if target is None:
            return current
        current = target
    return current


def has_text() -> ColumnElement[bool]:
    """A recording whose comment we may read: analysed, with words, not erased."""
    return and_(
        Recording.analysis.is_not(None),
        Recording.transcript.is_not(None),
        func.length(func.trim(Recording.transcript)) > 0,
    )


@dataclass(frozen=True)
class NewComment:
    recording_id: int
    session_id: int
    said_at: datetime
    text: str


def comments_to_read(limit: int) -> list[NewComment]:
    """Analysed comments of real calls (not try-it) with no theme row yet, oldest first."""
    seen = exists(select(ThemeComment.id).where(ThemeComment.recording_id == Recording.id))
    rows = db.session.execute(
        select(Recording.id, Recording.session_id, CallSession.created_at, Recording.transcript)
        .join(CallSession, Recording.session_id == CallSession.id)
        .where(has_text(), CallSession.is_test.is_(False), ~seen)
        .order_by(Recording.id)
        .limit(limit)
    ).all()
    return [NewComment(r[0], r[1], r[2], (r[3] or "").strip()) for r in rows]


def erased() -> Select[ThemeComment]:
    """Comments whose words are gone: the caller's data was erased."""
    return (
        select(ThemeComment)
        .join(Recording, ThemeComment.recording_id == Recording.id)
        .where(
            or_(
                Recording.transcript.is_(None),
                func.length(func.trim(Recording.transcript)) == 0,
            )
        )
    )


def unname(theme: Theme) -> None:
    """A machine name may quote erased words: none until it is named from who remains
    (``named_at_size`` 0 makes it due). A manager's name is theirs, not a quote: kept."""
    if not theme.renamed:
        theme.name, theme.named_at_size = naming.UNNAMED, 0


def drop_erased() -> int:
    """Forget erased comments: their theme loses them (its sum and size, and its machine
    name, ``unname``) and their embedding is deleted. Returns how many."""
    gone = list(db.session.scalars(erased()))
    for comment in gone:
        if comment.theme_id is not None:
            theme = db.session.get(Theme, comment.theme_id)
            if theme is not None:
                add_to(theme, unpack(comment.embedding), sign=-1)
                unname(theme)
        db.session.delete(comment)
    return len(gone)


def texts_by_theme(theme_ids: Sequence[int]) -> dict[int, list[str]]:
    """Every comment text of these themes, by theme."""
    found: dict[int, list[str]] = {t: [] for t in theme_ids}
    if not theme_ids:
        return found
    rows = db.session.execute(
        select(ThemeComment.theme_id, Recording.transcript)
        .join(Recording, ThemeComment.recording_id == Recording.id)
        .where(ThemeComment.theme_id.in_(theme_ids))
    ).all()
    for theme_id, text in rows:
        if text and theme_id is not None:
            found[theme_id].append(text)
    return found
