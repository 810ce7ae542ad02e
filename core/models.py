"""Core data model: people, contacts, surveys, calls, answers, recordings, events."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import UTCDateTime, db, utcnow


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Store the values (readable in SQL) and keep a CHECK constraint on every backend.
    return Enum(
        cls,
        name=name,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        create_constraint=True,
        length=24,
    )


class Role(enum.StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


class QuestionKind(enum.StrEnum):
    NPS = "nps"  # 0..10
    CSAT = "csat"  # 1..5
    YES_NO = "yes_no"  # stored as 1 (yes) / 0 (no)


class CallStatus(enum.StrEnum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def rank(self) -> int:
        """Order of a call's life; terminal statuses share the last rank."""
        return _CALL_STATUS_RANK[self]

    @property
    def is_final(self) -> bool:
        return self.rank == _FINAL_RANK


_FINAL_RANK = 4
_CALL_STATUS_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
    CallStatus.COMPLETED: _FINAL_RANK,
    CallStatus.BUSY: _FINAL_RANK,
    CallStatus.NO_ANSWER: _FINAL_RANK,
    CallStatus.FAILED: _FINAL_RANK,
    CallStatus.CANCELED: _FINAL_RANK,
}


class SurveyOutcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    PARTIAL = "partial"
    NOT_STARTED = "not_started"


class RecordingStatus(enum.StrEnum):
    PENDING = "pending"
    DOWNLOADED = "downloaded"
    TRANSCRIBED = "transcribed"
    ANALYSED = "analysed"
    FAILED = "failed"
    DELETED = "deleted"


class Team(db.Model):  # type: ignore[name-defined]
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.AGENT)
    name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))  # agent's phone for click-to-call
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team: Mapped[Team | None] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        return self.active


class Contact(db.Model):  # type: ignore[name-defined]
    """A customer's phone number and what they allowed us to do with it."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    callback_phone: Mapped[str | None] = mapped_column(String(20))
    timezone: Mapped[str | None] = mapped_column(String(64))
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    do_not_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


class Survey(db.Model):  # type: ignore[name-defined]
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    active_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_versions.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[SurveyVersion]] = relationship(
        back_populates="survey",
        foreign_keys="SurveyVersion.survey_id",
        order_by="SurveyVersion.number",
    )
    active_version: Mapped[SurveyVersion | None] = relationship(
        foreign_keys=[active_version_id], post_update=True
    )
    team: Mapped[Team | None] = relationship()


@dataclass(frozen=True)
class CallbackRules:
    """A survey version's callback settings, stored in ``SurveyVersion.rules``.

    What counts as a low score is each question's ``low_threshold``; deadlines come from
    the ``URGENT_SLA_MINUTES``/``STANDARD_SLA_MINUTES`` config only, never from a version.
    """

    negative_comment: bool = True  # a negative comment alone asks for a callback

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> CallbackRules:
        """The rules stored on a version; keys we no longer use (old SLA minutes) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (raw or {}).items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SurveyVersion(db.Model):  # type: ignore[name-defined]
    """An immutable snapshot of a survey; answers point here so edits never change them."""

    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    number: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16), default="en-US")
    voice: Mapped[str] = mapped_column(String(64), default="Polly.Joanna")
    greeting: Mapped[str] = mapped_column(Text)
    disclosure: Mapped[str] = mapped_column(Text)
    comment_prompt: Mapped[str] = mapped_column(Text)
    goodbye: Mapped[str] = mapped_column(Text)
    record_comment: Mapped[bool] = mapped_column(Boolean, default=True)
    comment_max_seconds: Mapped[int] = mapped_column(Integer, default=60)
    # Terms Whisper should listen for in the comment; None: WHISPER_VOCABULARY.
    vocabulary: Mapped[str | None] = mapped_column(Text)
    # Ask "may we text you?" before the goodbye (texts.consent keeps the answer).
    offer_texts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # CallbackRules.to_json(); read through CallbackRules.from_json.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    survey: Mapped[Survey] = relationship(back_populates="versions", foreign_keys=[survey_id])
    questions: Mapped[list[Question]] = relationship(
        back_populates="version", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(db.Model):  # type: ignore[name-defined]
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_versions.id"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(32))  # stable name across versions, e.g. "nps"
    kind: Mapped[QuestionKind] = mapped_column(_enum(QuestionKind, "question_kind"))
    prompt: Mapped[str] = mapped_column(Text)
    speech_hints: Mapped[str | None] = mapped_column(Text)
    # Scores at or below this count as low (callback trigger); None = never low.
    low_threshold: Mapped[int | None] = mapped_column(Integer)

    version: Mapped[SurveyVersion] = relationship(back_populates="questions")


# When a caller may ask to be called back (``CallSession.callback_preference``), and how
# we say it: "someone will call you <words>". The survey and the callbacks console both read it.
CALLBACK_TIME_WORDS: dict[str, str] = {
    "now": "as soon as possible",
    "later_today": "later today",
    "tomorrow": "tomorrow",
}


class CallSession(db.Model):  # type: ignore[name-defined]
    """One Twilio call and the survey taken on it, or a survey taken by text (channel sms)."""

    __tablename__ = "call_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    survey_version_id: Mapped[int | None] = mapped_column(ForeignKey("survey_versions.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(8), default="voice", server_default="voice")
    status: Mapped[CallStatus] = mapped_column(
        _enum(CallStatus, "call_status"), default=CallStatus.QUEUED
    )
    outcome: Mapped[SurveyOutcome] = mapped_column(
        _enum(SurveyOutcome, "survey_outcome"), default=SurveyOutcome.NOT_STARTED
    )
    step: Mapped[str | None] = mapped_column(String(32))  # last flow step served
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)  # try-it calls stay out of trends
    consent_recording: Mapped[bool | None] = mapped_column(Boolean)
    asked_for_human: Mapped[bool] = mapped_column(Boolean, default=False)
    transferred: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_callback: Mapped[bool | None] = mapped_column(Boolean)
    callback_number: Mapped[str | None] = mapped_column(String(20))
    callback_preference: Mapped[str | None] = mapped_column(String(16))  # CALLBACK_TIME_WORDS
    # When the caller heard by when to expect the callback: the task is timed from it.
    callback_promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The window they heard, as worked out then (heard with its end rounded up to five
    # minutes): the task is never due after it, whatever the settings say later.
    callback_promised_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    callback_promised_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by a turn that stored what the callback rules read after they were told of the
    # survey (a hang-up); cleared by the verdict that read it (``callbacks.verdicts``).
    retell_owed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contact: Mapped[Contact | None] = relationship()
    survey_version: Mapped[SurveyVersion | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="session", order_by="Answer.id", cascade="all, delete-orphan"
    )
    recordings: Mapped[list[Recording]] = relationship(
        back_populates="session", order_by="Recording.id"
    )

    @property
    def customer_number(self) -> str:
        """The customer's side of the call (the callee on outbound calls)."""
        return self.to_number if self.direction.startswith("outbound") else self.from_number

    def answer_for(self, key: str) -> Answer | None:
        return next((a for a in self.answers if a.question.key == key), None)


class Answer(db.Model):  # type: ignore[name-defined]
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("session_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    digits: Mapped[str | None] = mapped_column(String(32))
    speech: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    value: Mapped[int | None] = mapped_column(Integer)  # None = skipped after reprompts
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[CallSession] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()

    @property
    def skipped(self) -> bool:
        return self.value is None


class Recording(db.Model):  # type: ignore[name-defined]
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    media_url: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    consent_given: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[RecordingStatus] = mapped_column(
        _enum(RecordingStatus, "recording_status"), default=RecordingStatus.PENDING, index=True
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)
    media_ready: Mapped[bool] = mapped_column(Boolean, default=False)  # Twilio said "completed"
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    local_path: Mapped[str | None] = mapped_column(Text)  # our copy: transcription.storage
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    download_attempts: Mapped[int] = mapped_column(Integer, default=0)
    transcript: Mapped[str | None] = mapped_column(Text)
    transcript_engine: Mapped[str | None] = mapped_column(String(64))
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    twilio_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    session: Mapped[CallSession] = relationship(back_populates="recordings")


class RecordingBlob(db.Model):  # type: ignore[name-defined]
    """A piece of a recording's audio, for the shared ``database`` recording storage."""

    __tablename__ = "recording_blobs"

    recording_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Event(db.Model):  # type: ignore[name-defined]
    """Audit and timeline log. ``dedupe_key`` makes a Twilio callback count once."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("call_sessions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SuppressionKind(enum.StrEnum):
    OPT_OUT = "opt_out"  # the caller asked for no more surveys
    DO_NOT_CALL = "do_not_call"  # never call, not even back (an admin or integration said so)


class Suppression(db.Model):  # type: ignore[name-defined]
    """A number we must not survey or call, kept only as a keyed hash (``core.suppression``).

    Keyed by hash rather than by contact so it outlives "delete this caller's data".
    """

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("number_hash", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 hex of the E.164 number
    kind: Mapped[SuppressionKind] = mapped_column(_enum(SuppressionKind, "suppression_kind"))
    source: Mapped[str] = mapped_column(String(32))  # keypad, voice, comment, dashboard, api…
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
