"""Survey versions and their questions as frozen snapshots, cached per process.

A saved SurveyVersion never changes (edits make a new version), so each webhook turn can
read its version without a query. Plain frozen dataclasses, never ORM objects, so nothing
is tied to a request's database session. Tests that empty the tables (ids reused) call
``clear``.
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock

from sqlalchemy.orm import selectinload

from core.db import db
from core.models import QuestionKind, SurveyVersion


@dataclass(frozen=True, slots=True)
class QuestionSnapshot:
    id: int
    position: int
    key: str
    kind: QuestionKind
    prompt: str
    speech_hints: str | None
    low_threshold: int | None


@dataclass(frozen=True, slots=True)
class VersionSnapshot:
    id: int
    survey_id: int
    number: int
    language: str
    voice: str
    greeting: str
    disclosure: str
    comment_prompt: str
    goodbye: str
    record_comment: bool
    comment_max_seconds: int
    offer_texts: bool
    questions: tuple[QuestionSnapshot, ...]


_cache: dict[int, VersionSnapshot] = {}
_lock = Lock()


def take(version: SurveyVersion) -> VersionSnapshot:
    """A snapshot of a loaded version (its questions loaded with it)."""
    return VersionSnapshot(
        id=version.id,
        survey_id=version.survey_id,
        number=version.number,
        language=version.language,
        voice=version.voice,
        greeting=version.greeting,
        disclosure=version.disclosure,
        comment_prompt=version.comment_prompt,
        goodbye=version.goodbye,
        record_comment=version.record_comment,
        comment_max_seconds=version.comment_max_seconds,
        offer_texts=version.offer_texts,
        questions=tuple(
            QuestionSnapshot(
                id=q.id,
                position=q.position,
                key=q.key,
                kind=q.kind,
                prompt=q.prompt,
                speech_hints=q.speech_hints,
                low_threshold=q.low_threshold,
            )
            for q in version.questions
        ),
    )


def version(version_id: int) -> VersionSnapshot:
    """The version's snapshot: one query with its questions the first time, then none."""
    cached = _cache.get(version_id)
    if cached is not None:
        return cached
    loaded = db.session.scalar(
        db.select(SurveyVersion)
        .where(SurveyVersion.id == version_id)
        .options(selectinload(SurveyVersion.questions))
    )
    if loaded is None:
        raise LookupError(f"no survey version {version_id}")
    snapshot = take(loaded)
    with _lock:
        _cache[version_id] = snapshot
    return snapshot


def clear() -> None:
    with _lock:
        _cache.clear()
