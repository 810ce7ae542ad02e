"""Why a survey session is flagged, derived from its data.

The rules are ``callbacks.rules.TRIGGERS``, the table callbacks open tasks from: this
module only reads each fact of a loaded session (``reasons_for``: the list, the detail
page and the CSV) and in SQL (``reason_condition``: filtering and paging in the database;
a test checks that the two agree).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select

from callbacks import rules
from callbacks.rules import Fact, Trigger
from core.models import Answer, CallSession, Contact, Question, QuestionKind, Recording

# code -> label shown to people, in display order
REASONS: dict[str, str] = rules.FLAGS
# Analysis labels that are reasons of their own, and the reason each one feeds.
ANALYSIS_REASONS: dict[str, str] = rules.comment_flags()


@dataclass(frozen=True)
class Reason:
    """One reason a session is flagged; ``phrases`` are the transcript words behind it."""

    code: str
    detail: str
    phrases: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return REASONS[self.code]


def flagged_labels(analysis: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Analysis labels marked flagged, by name."""
    if not analysis:
        return {}
    labels = analysis.get("labels") or {}
    return {name: raw for name, raw in labels.items() if raw.get("flagged")}


def _score_text(answer: Answer) -> str:
    q = answer.question
    if q.kind is QuestionKind.YES_NO:
        return f"{q.key}: {'yes' if answer.value else 'no'}"
    return f"{q.key.upper()} {answer.value}"


def _evidence(trigger: Trigger, session: CallSession) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(detail, phrases) for each time the trigger's fact holds in this session."""
    match trigger.fact:
        case Fact.LOW_SCORE:
            low = [a for a in session.answers if rules.is_low(a.value, a.question.low_threshold)]
            if low:
                yield ", ".join(_score_text(a) for a in low), ()
        case Fact.COMMENT:
            for rec in session.recordings:
                raw = flagged_labels(rec.analysis).get(trigger.label or "")
                if raw is not None:
                    phrases = tuple(raw.get("phrases") or ())
                    quoted = ", ".join(f"“{p}”" for p in phrases)
                    yield ("said: " + quoted if phrases else "in comment"), phrases
        case Fact.ASKED_FOR_HUMAN:
            if session.asked_for_human:
                yield "asked for a person", ()
        case Fact.WANTS_CALLBACK:
            if session.wants_callback:
                yield "accepted the callback offer", ()
        case Fact.OPTED_OUT:
            contact = session.contact
            if session.opted_out:
                yield "on this call", ()
            elif (
                contact is not None
                and contact.opted_out_at is not None
                and contact.opted_out_at >= session.created_at
            ):
                yield "after this call", ()


def reasons_for(session: CallSession) -> list[Reason]:
    """Every reason ``session`` is flagged, in ``REASONS`` order (empty: not flagged)."""
    found: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for trigger in rules.TRIGGERS:
        found.setdefault(trigger.flag, []).extend(_evidence(trigger, session))
    return [
        Reason(code, "; ".join(d for d, _ in found[code]), sum((p for _, p in found[code]), ()))
        for code in REASONS
        if found.get(code)
    ]


# --- the same rules in SQL ---------------------------------------------------------------


def _label_flagged(label: str) -> ColumnElement[bool]:
    return exists(
        select(Recording.id).where(
            Recording.session_id == CallSession.id,
            Recording.analysis["labels"][label]["flagged"].as_boolean(),
        )
    )


def _low_score() -> ColumnElement[bool]:
    return exists(
        select(Answer.id)
        .join(Question, Answer.question_id == Question.id)
        .where(
            Answer.session_id == CallSession.id,
            Question.low_threshold.is_not(None),
            Answer.value.is_not(None),
            Answer.value <= Question.low_threshold,
        )
    )


def _contact_opted_out_after() -> ColumnElement[bool]:
    return exists(
        select(Contact.id).where(
            Contact.id == CallSession.contact_id,
            Contact.opted_out_at.is_not(None),
            Contact.opted_out_at >= CallSession.created_at,
        )
    )


def _condition(trigger: Trigger) -> ColumnElement[bool]:
    """The trigger's fact as SQL on ``CallSession`` (what ``_evidence`` reads in Python)."""
    match trigger.fact:
        case Fact.LOW_SCORE:
            return _low_score()
        case Fact.COMMENT:
            return _label_flagged(trigger.label or "")
        case Fact.ASKED_FOR_HUMAN:
            return CallSession.asked_for_human.is_(True)
        case Fact.WANTS_CALLBACK:
            return CallSession.wants_callback.is_(True)
        case Fact.OPTED_OUT:
            return or_(CallSession.opted_out.is_(True), _contact_opted_out_after())


def reason_condition(code: str) -> ColumnElement[bool]:
    """SQL condition on ``CallSession`` true exactly when ``reasons_for`` gives ``code``."""
    conditions = [_condition(t) for t in rules.TRIGGERS if t.flag == code]
    return or_(*conditions) if conditions else false()


def any_reason_condition() -> ColumnElement[bool]:
    """SQL condition: the session has at least one reason."""
    return or_(*(reason_condition(code) for code in REASONS))
