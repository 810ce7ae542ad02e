"""Themes, which theme each comment is in (with its embedding), and the rising-theme log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class Theme(db.Model):  # type: ignore[name-defined]
    """What a group of comments is about.

    ``vector_sum`` is the sum of its comments' embeddings (float64 bytes), so a comment
    joining or leaving updates the centroid exactly without reading the others.
    """

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    renamed: Mapped[bool] = mapped_column(Boolean, default=False)  # a manager's name: kept
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"), index=True)
    vector_sum: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
    named_at_size: Mapped[int] = mapped_column(Integer, default=0)  # size when last named
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def live(self) -> bool:
        return self.merged_into_id is None


class ThemeComment(db.Model):  # type: ignore[name-defined]
    """One comment (a recording's transcript) and its theme; ``theme_id`` None: no theme yet.

    A text reply, once there is one, gets its own key column beside ``recording_id``.
    """

    __tablename__ = "theme_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), unique=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"), index=True)
    said_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # the call's time
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, unit length
    similarity: Mapped[float | None] = mapped_column(Float)  # cosine to the theme's centroid
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThemeAlert(db.Model):  # type: ignore[name-defined]
    """A theme found rising in a week; the unique key makes it one alert per theme per week."""

    __tablename__ = "theme_alerts"
    __table_args__ = (UniqueConstraint("theme_id", "week_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"))
    week_start: Mapped[date] = mapped_column(Date)  # Monday (UTC) of the week
    count: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)  # mean weekly count of the 4 weeks before
    p_value: Mapped[float] = mapped_column(Float)
    sent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # channel -> delivered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
