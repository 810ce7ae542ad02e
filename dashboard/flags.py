"""Why a survey session is flagged, derived from its data.

``reasons_for`` is the one definition the list, the detail page and the CSV use;
``reason_condition`` is the same rule as SQL, for filtering and paging in the database
(a test checks that the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select

from core.models import Answer, CallSession, Contact, Question, QuestionKind, Recording

# code -> label shown to people, in display order
REASONS: dict[str, str] = {
    "low_score": "Low score",
    "distress": "Distress",
    "negative": "Negative",
    "contact_request": "Asked for contact",
    "pressed_0": "Pressed 0",
    "opted_out": "Opted out",
}
# Analysis labels that are reasons of their own, and the reason each one feeds.
ANALYSIS_REASONS = {
    "distress": "distress",
    "negative": "negative",
    "contact_request": "contact_request",
    "opt_out": "opted_out",
}


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


def _is_low(answer: Answer) -> bool:
    threshold = answer.question.low_threshold
    return threshold is not None and answer.value is not None and answer.value <= threshold


def _score_text(answer: Answer) -> str:
    q = answer.question
    if q.kind is QuestionKind.YES_NO:
        return f"{q.key}: {'yes' if answer.value else 'no'}"
    return f"{q.key.upper()} {answer.value}"


def reasons_for(session: CallSession) -> list[Reason]:
    """Every reason ``session`` is flagged, in ``REASONS`` order (empty: not flagged)."""
    found: dict[str, Reason] = {}
    low = [a for a in session.answers if _is_low(a)]
    if low:
        found["low_score"] = Reason("low_score", ", ".join(_score_text(a) for a in low))
    for rec in session.recordings:
        for name, raw in flagged_labels(rec.analysis).items():
            code = ANALYSIS_REASONS.get(name)
            if code is None:
                continue
            phrases = tuple(raw.get("phrases") or ())
            previous = found.get(code)
            detail = "said: " + ", ".join(f"“{p}”" for p in phrases) if phrases else "in comment"
            if previous is not None:
                phrases = previous.phrases + phrases
                detail = f"{previous.detail}; {detail}"
            found[code] = Reason(code, detail, phrases)
    if session.wants_callback and "contact_request" not in found:
        found["contact_request"] = Reason("contact_request", "accepted the callback offer")
    elif session.wants_callback:
        prev = found["contact_request"]
        found["contact_request"] = Reason(
            "contact_request", f"accepted the callback offer; {prev.detail}", prev.phrases
        )
    if session.asked_for_human:
        found["pressed_0"] = Reason("pressed_0", "asked for a person")
    contact_opted_out = (
        session.contact is not None
        and session.contact.opted_out_at is not None
        and session.contact.opted_out_at >= session.created_at
    )
    if session.opted_out or contact_opted_out:
        detail = "on this call" if session.opted_out else "after this call"
        prev_opt = found.get("opted_out")
        if prev_opt is not None:
            detail = f"{detail}; {prev_opt.detail}"
        found["opted_out"] = Reason(
            "opted_out", detail, prev_opt.phrases if prev_opt is not None else ()
        )
    return [found[code] for code in REASONS if code in found]


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


def reason_condition(code: str) -> ColumnElement[bool]:
    """SQL condition on ``CallSession`` true exactly when ``reasons_for`` gives ``code``."""
    if code == "low_score":
        return _low_score()
    if code == "distress":
        return _label_flagged("distress")
    if code == "negative":
        return _label_flagged("negative")
    if code == "contact_request":
        return or_(CallSession.wants_callback.is_(True), _label_flagged("contact_request"))
    if code == "pressed_0":
        return CallSession.asked_for_human.is_(True)
    if code == "opted_out":
        return or_(
            CallSession.opted_out.is_(True),
            _label_flagged("opt_out"),
            _contact_opted_out_after(),
        )
    return false()


def any_reason_condition() -> ColumnElement[bool]:
    """SQL condition: the session has at least one reason."""
    return or_(*(reason_condition(code) for code in REASONS))


def all_of(codes: list[str]) -> ColumnElement[bool]:
    return and_(*(reason_condition(c) for c in codes))
