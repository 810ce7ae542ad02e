"""Which survey answers and comments need a person to call back: pure functions, no I/O.

A survey version's settings are ``core.models.CallbackRules``; the SLA minutes come from
``callbacks.policy.sla_minutes`` (config), by priority:

=====================================  =====================  =========  ===========
trigger                                reason code            priority   SLA
=====================================  =====================  =========  ===========
distress in the recorded comment       ``distress``           urgent     urgent
pressed 0 / asked for a person,        ``asked_for_human``    high       standard
not transferred live
accepted the callback offer            ``callback_requested`` high       standard
comment asks to be contacted           ``contact_request``    high       standard
score <= its question's threshold     ``low_<key>``          normal     standard
(demo: NPS 6, CSAT 2, resolved "no")
negative comment                       ``negative_comment``   normal     standard
=====================================  =====================  =========  ===========

Decisions:
    * Opt-out (this call, an earlier one, or "stop calling me" in the comment) means no
      callback, except that an explicit request in the same call (callback offer accepted
      or 0 pressed) is consent for that one callback: only those reasons (and distress,
      which only makes it urgent) are kept, and dialling re-checks that no opt-out came
      later. A comment's "call me" does not override an opt-out said in the same breath.
    * Pressing 0 with nobody free also books a callback; that is one reason
      (``asked_for_human``), not two.
    * Do-not-call always wins: no task is opened (and dialling re-checks it).
    * A caller who pressed 0 and was transferred live already reached a person, so the
      press-0 reason is dropped; low scores given before the transfer still count.
    * Skipped questions (no value) never trigger anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callbacks.models import Priority
from core.models import CallbackRules

URGENT, HIGH, NORMAL = Priority.URGENT, Priority.HIGH, Priority.NORMAL
CONSENT_CODES = frozenset({"asked_for_human", "callback_requested"})


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


def triggered(facts: Facts, rules: CallbackRules) -> list[Reason]:
    """Every reason the facts give, before opt-out and do-not-call are applied."""
    reasons: list[Reason] = []
    flags = facts.comment_flags
    if "distress" in flags:
        reasons.append(Reason("distress", f"sounded anxious: {_quote(flags['distress'])}", URGENT))
    if facts.asked_for_human and not facts.transferred:
        reasons.append(Reason("asked_for_human", "pressed 0 / asked for a person", HIGH))
    if facts.wants_callback and not (facts.asked_for_human and not facts.transferred):
        # (pressing 0 with nobody free books a callback too: one reason is enough)
        reasons.append(Reason("callback_requested", "asked to be called back", HIGH))
    if "contact_request" in flags:
        detail = f"asked in the comment: {_quote(flags['contact_request'])}"
        reasons.append(Reason("contact_request", detail, HIGH))
    # The question's own threshold (part of the immutable survey version) is the one
    # definition of "low", shared with the dashboard's flags.
    for score in facts.scores:
        threshold = score.low_threshold
        if score.value is not None and threshold is not None and score.value <= threshold:
            detail = (
                f"answered no ({score.key})"
                if score.yes_no
                else f"{score.key.upper()} {score.value} (≤ {threshold})"
            )
            reasons.append(Reason(f"low_{score.key}", detail, NORMAL))
    if "negative" in flags and rules.negative_comment:
        reasons.append(
            Reason("negative_comment", f"unhappy comment: {_quote(flags['negative'])}", NORMAL)
        )
    return reasons


def decide(facts: Facts, rules: CallbackRules) -> Decision:
    """Apply the rule table, then opt-out/consent and do-not-call."""
    reasons = triggered(facts, rules)
    consent = facts.wants_callback or (facts.asked_for_human and not facts.transferred)
    blocked = None
    if facts.do_not_call:
        blocked = "do_not_call"
    elif facts.opted_out or "opt_out" in facts.comment_flags:
        if consent:
            reasons = [r for r in reasons if r.code in CONSENT_CODES or r.code == "distress"]
        else:
            blocked = "opted_out"
    priority = max((r.priority for r in reasons), default=NORMAL)
    return Decision(
        reasons=tuple(reasons),
        priority=Priority(priority),
        consent=consent,
        blocked=blocked,
    )
