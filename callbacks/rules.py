"""Why a survey call is flagged and why it needs a callback: one table, pure functions.

``TRIGGERS`` is the one definition of both. Each row names a fact a survey call can
give, the dashboard flag it raises (``FLAGS``) and the callback reason it opens, with
its priority. The dashboard's flags (``dashboard.flags``) and ``triggered`` below both
read it, so a flag and a callback reason cannot come from different rules.

=====================================  ==================  =====================  ========
fact                                   dashboard flag      callback reason        priority
=====================================  ==================  =====================  ========
distress in the recorded comment       ``distress``        ``distress``           urgent
pressed 0 / asked for a person         ``pressed_0``       ``asked_for_human``    high
accepted the callback offer            ``contact_request`` ``callback_requested`` high
comment asks to be contacted           ``contact_request`` ``contact_request``    high
score <= its question's threshold     ``low_score``       ``low_<key>``          normal
(demo: NPS 6, CSAT 2, resolved "no")
negative comment                       ``negative``        ``negative_comment``   normal
pressed 9 / "stop calling me"          ``opted_out``       (blocks callbacks)
=====================================  ==================  =====================  ========

Deadlines follow the priority: ``callbacks.policy.sla_minutes`` (config) for urgent, the
standard minutes for the rest. A survey version's settings are ``core.models.CallbackRules``.

Where a callback differs from the flag (the flag still shows; ``_suppressed``):
    * A caller who pressed 0 and was transferred live already reached a person, so the
      press-0 reason is dropped; low scores given before the transfer still count.
    * Pressing 0 with nobody free also books a callback; that is one reason
      (``asked_for_human``), not two.
    * A survey version with ``negative_comment`` off opens nothing for a negative comment.

Decisions:
    * Opt-out (this call, an earlier one, or "stop calling me" in the comment) means no
      callback, except that an explicit request in the same call (callback offer accepted
      or 0 pressed) is consent for that one callback: only those reasons (and distress,
      which only makes it urgent) are kept, and dialling re-checks that no opt-out came
      later. A comment's "call me" does not override an opt-out said in the same breath.
    * Do-not-call always wins: no task is opened (and dialling re-checks it).
    * Skipped questions (no value) never trigger anything.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callbacks.models import Priority
from core.models import CallbackRules

URGENT, HIGH, NORMAL = Priority.URGENT, Priority.HIGH, Priority.NORMAL


class Fact(enum.StrEnum):
    """Something a survey call can tell us that may need a person."""

    LOW_SCORE = "low_score"  # an answer at or below its question's ``low_threshold``
    COMMENT = "comment"  # a label flagged in the comment's analysis (``Trigger.label``)
    ASKED_FOR_HUMAN = "asked_for_human"  # pressed 0 / asked for a person
    WANTS_CALLBACK = "wants_callback"  # accepted the callback offer
    OPTED_OUT = "opted_out"  # pressed 9 (on this call, or the contact did)


@dataclass(frozen=True)
class Trigger:
    """One row of the table: a fact, the flag it raises and the callback reason it opens."""

    fact: Fact
    flag: str  # a FLAGS code
    reason: str | None  # callback reason code (``low_<key>`` for scores); None: blocks
    priority: Priority = NORMAL
    detail: str = ""  # why we call, for agents; ``{phrases}``: the caller's words
    label: str | None = None  # the analysis label, for Fact.COMMENT


# Flag code -> label shown to managers, in display order.
FLAGS: dict[str, str] = {
    "low_score": "Low score",
    "distress": "Distress",
    "negative": "Negative",
    "contact_request": "Asked for contact",
    "pressed_0": "Pressed 0",
    "opted_out": "Opted out",
}

# In the order callback reasons are listed on a task.
TRIGGERS: tuple[Trigger, ...] = (
    Trigger(Fact.COMMENT, "distress", "distress", URGENT, "sounded anxious: {phrases}", "distress"),
    Trigger(
        Fact.ASKED_FOR_HUMAN, "pressed_0", "asked_for_human", HIGH, "pressed 0 / asked for a person"
    ),
    Trigger(
        Fact.WANTS_CALLBACK,
        "contact_request",
        "callback_requested",
        HIGH,
        "asked to be called back",
    ),
    Trigger(
        Fact.COMMENT,
        "contact_request",
        "contact_request",
        HIGH,
        "asked in the comment: {phrases}",
        "contact_request",
    ),
    Trigger(Fact.LOW_SCORE, "low_score", "low", NORMAL),
    Trigger(
        Fact.COMMENT,
        "negative",
        "negative_comment",
        NORMAL,
        "unhappy comment: {phrases}",
        "negative",
    ),
    Trigger(Fact.OPTED_OUT, "opted_out", None),
    Trigger(Fact.COMMENT, "opted_out", None, label="opt_out"),
)
# Reasons that are the caller's own request in this call: consent despite an opt-out.
CONSENT_FACTS = frozenset({Fact.ASKED_FOR_HUMAN, Fact.WANTS_CALLBACK})


def comment_flags() -> dict[str, str]:
    """Analysis label -> the flag it raises."""
    return {t.label: t.flag for t in TRIGGERS if t.label is not None}


def is_low(value: int | None, threshold: int | None) -> bool:
    """A score is low at or below its question's threshold; skipped is never low."""
    return value is not None and threshold is not None and value <= threshold


@dataclass(frozen=True)
class Score:
    key: str
    value: int | None
    low_threshold: int | None
    yes_no: bool = False


@dataclass(frozen=True)
class Facts:
    """What one survey call told us; built by ``callbacks.evaluation`` from the database."""

    scores: tuple[Score, ...] = ()
    asked_for_human: bool = False
    transferred: bool = False
    wants_callback: bool = False
    opted_out: bool = False  # opted out during this call or before
    do_not_call: bool = False
    # label -> phrases the caller used (only flagged labels)
    comment_flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str
    priority: Priority
    trigger: Trigger

    @property
    def flag(self) -> str:
        """The dashboard flag this reason shows as."""
        return self.trigger.flag

    def as_dict(self, session_id: int | None) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "session_id": session_id}


@dataclass(frozen=True)
class Decision:
    reasons: tuple[Reason, ...]
    priority: Priority
    consent: bool  # the caller explicitly asked for a call in this survey
    blocked: str | None = None  # why no task may exist (opt-out, do-not-call)

    @property
    def wants_task(self) -> bool:
        return bool(self.reasons) and self.blocked is None


def _quote(phrases: tuple[str, ...]) -> str:
    return ", ".join(f"“{p}”" for p in phrases[:3])


def _low_detail(score: Score) -> str:
    if score.yes_no:
        return f"answered no ({score.key})"
    return f"{score.key.upper()} {score.value} (≤ {score.low_threshold})"


def _holds(trigger: Trigger, facts: Facts) -> bool:
    """Whether the trigger's fact is true of this call (scores: any low one)."""
    match trigger.fact:
        case Fact.LOW_SCORE:
            return any(is_low(s.value, s.low_threshold) for s in facts.scores)
        case Fact.COMMENT:
            return trigger.label in facts.comment_flags
        case Fact.ASKED_FOR_HUMAN:
            return facts.asked_for_human
        case Fact.WANTS_CALLBACK:
            return facts.wants_callback
        case Fact.OPTED_OUT:
            return facts.opted_out


def _suppressed(trigger: Trigger, facts: Facts, rules: CallbackRules) -> bool:
    """The table's exceptions for callbacks (the dashboard flag still shows)."""
    waiting_for_person = facts.asked_for_human and not facts.transferred
    match trigger.fact:
        case Fact.ASKED_FOR_HUMAN:
            return facts.transferred  # reached a person live already
        case Fact.WANTS_CALLBACK:
            return waiting_for_person  # pressing 0 booked this callback: one reason is enough
        case Fact.COMMENT if trigger.label == "negative":
            return not rules.negative_comment
    return False


def triggered(facts: Facts, rules: CallbackRules) -> list[Reason]:
    """Every reason the facts give, before opt-out and do-not-call are applied."""
    reasons: list[Reason] = []
    for trigger in TRIGGERS:
        if trigger.reason is None or not _holds(trigger, facts):
            continue
        if _suppressed(trigger, facts, rules):
            continue
        if trigger.fact is Fact.LOW_SCORE:
            # The question's own threshold (part of the immutable survey version) is the
            # one definition of "low".
            reasons.extend(
                Reason(f"low_{s.key}", _low_detail(s), trigger.priority, trigger)
                for s in facts.scores
                if is_low(s.value, s.low_threshold)
            )
            continue
        phrases = facts.comment_flags.get(trigger.label or "", ())
        detail = trigger.detail.format(phrases=_quote(phrases))
        reasons.append(Reason(trigger.reason, detail, trigger.priority, trigger))
    return reasons


def decide(facts: Facts, rules: CallbackRules) -> Decision:
    """Apply the rule table, then opt-out/consent and do-not-call."""
    reasons = triggered(facts, rules)
    consent = facts.wants_callback or (facts.asked_for_human and not facts.transferred)
    opted_out = any(_holds(t, facts) for t in TRIGGERS if t.reason is None)
    blocked = None
    if facts.do_not_call:
        blocked = "do_not_call"
    elif opted_out:
        if consent:
            # Keep the requested call (distress only makes it urgent).
            reasons = [
                r for r in reasons if r.trigger.fact in CONSENT_FACTS or r.priority >= URGENT
            ]
        else:
            blocked = "opted_out"
    priority = max((r.priority for r in reasons), default=NORMAL)
    return Decision(
        reasons=tuple(reasons),
        priority=Priority(priority),
        consent=consent,
        blocked=blocked,
    )
