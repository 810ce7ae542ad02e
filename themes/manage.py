"""What managers do to themes: rename one (the name then sticks through every rebuild) and
merge one into another (its comments move; a rebuild keeps them together).

A theme is shared by every team whose callers said it, so a manager may change only themes
with at least one comment from a call they may see (``core.access``); admins any.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from core import events
from core.access import session_scope
from core.db import db
from core.models import CallSession, Role, User
from themes import store
from themes.models import Theme, ThemeComment

MAX_NAME = 80


class ThemeError(Exception):
    """A change that cannot be made; the message says why, for people."""


def can_change(user: User, theme_id: int) -> bool:
    if user.role is Role.ADMIN:
        return True
    return bool(
        db.session.scalar(
            select(
                exists(
                    select(ThemeComment.id)
                    .join(CallSession, ThemeComment.session_id == CallSession.id)
                    .where(ThemeComment.theme_id == theme_id, session_scope(user))
                )
            )
        )
    )


def _live_theme(theme_id: int, user: User) -> Theme:
    theme = db.session.get(Theme, theme_id)
    if theme is None or not theme.live or not can_change(user, theme_id):
        raise ThemeError("No such theme.")
    return theme


def rename(theme_id: int, name: str, user: User) -> Theme:
    """Give a theme a manager's name; rebuilds and new comments never change it."""
    name = " ".join(name.split())
    if not name:
        raise ThemeError("A theme needs a name.")
    if len(name) > MAX_NAME:
        raise ThemeError(f"Keep the name to {MAX_NAME} characters.")
    theme = _live_theme(theme_id, user)
    previous = theme.name
    theme.name, theme.renamed = name, True
    events.record(
        "theme.renamed",
        user_id=user.id,
        data={"theme_id": theme.id, "from": previous, "to": name},
    )
    db.session.commit()
    return theme


def merge(source_id: int, target_id: int, user: User) -> Theme:
    """Move every comment of ``source`` into ``target``; ``source`` then points there.

    Raises:
        ThemeError: either theme is gone, not the user's, or they are the same one.
        store.Busy: a job is changing themes; nothing was changed.
    """
    if source_id == target_id:
        raise ThemeError("Choose two different themes to merge.")
    with store.exclusive(wait=10.0):
        source = _live_theme(source_id, user)
        target = _live_theme(target_id, user)
        moved = list(
            db.session.scalars(select(ThemeComment).where(ThemeComment.theme_id == source.id))
        )
        for comment in moved:
            comment.theme_id = target.id
        members = list(
            db.session.scalars(select(ThemeComment).where(ThemeComment.theme_id == target.id))
        )
        vectors = store.vectors(members)
        store.set_members(target, vectors)
        store.set_members(source, vectors[:0])
        source.merged_into_id = target.id
        if len(members):  # quotes rank by closeness to the joined centroid
            scores = vectors @ store.centroid(target, vectors.shape[1])
            for comment, score in zip(members, scores, strict=True):
                comment.similarity = float(score)
        events.record(
            "theme.merged",
            user_id=user.id,
            data={
                "theme_id": source.id,
                "into": target.id,
                "name": source.name,
                "into_name": target.name,
                "comments": len(moved),
            },
        )
        db.session.commit()
    return target
