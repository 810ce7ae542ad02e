"""Audit/timeline events and insert-once helpers for rows keyed by Twilio ids."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError

from core.db import db
from core.models import CallSession, Event

T = TypeVar("T")


def insert_or_get(row: T, unique_where: ColumnElement[bool]) -> T:
    """Insert ``row``; if a concurrent request inserted its twin first, return that one.

    The savepoint keeps the rest of the caller's transaction when the insert loses.
    """
    try:
        with db.session.begin_nested():
            db.session.add(row)
        return row
    except IntegrityError:
        existing = db.session.scalar(db.select(type(row)).where(unique_where))
        if existing is None:
            raise
        return existing


def record(
    kind: str,
    *,
    session: CallSession | None = None,
    user_id: int | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """Add an event to the current transaction; False if ``dedupe_key`` was seen before."""
    if dedupe_key is not None:
        seen = db.session.scalar(db.select(Event.id).where(Event.dedupe_key == dedupe_key))
        if seen is not None:
            return False
    event = Event(
        kind=kind,
        session_id=session.id if session else None,
        user_id=user_id,
        data=data or {},
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        db.session.add(event)
        return True
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        return False
    return True
