"""The rule table, as pure functions: which survey answers open a callback, and how urgent."""

from __future__ import annotations

from typing import Any

import pytest

from callbacks.models import Priority
from callbacks.rules import Facts, Score, decide
from core.seed import DEFAULT_RULES

CONFIG = {"URGENT_SLA_MINUTES": 10, "STANDARD_SLA_MINUTES": 60}


def scores(**values: int | None) -> tuple[Score, ...]:
    thresholds = {"nps": 6, "csat": 2, "resolved": 0}
    return tuple(Score(k, v, thresholds[k]) for k, v in values.items())


@pytest.mark.parametrize(
    ("facts", "codes", "priority", "sla"),
    [
        (Facts(scores=scores(nps=6)), ["low_nps"], Priority.NORMAL, 60),
        (Facts(scores=scores(nps=7)), [], Priority.NORMAL, 60),
        (Facts(scores=scores(csat=2)), ["low_csat"], Priority.NORMAL, 60),
        (Facts(scores=scores(csat=3)), [], Priority.NORMAL, 60),
        (Facts(scores=scores(resolved=0)), ["low_resolved"], Priority.NORMAL, 60),
        (Facts(scores=scores(nps=None, csat=None)), [], Priority.NORMAL, 60),
        (Facts(asked_for_human=True), ["asked_for_human"], Priority.HIGH, 60),
        (Facts(asked_for_human=True, transferred=True), [], Priority.NORMAL, 60),
        (Facts(wants_callback=True), ["callback_requested"], Priority.HIGH, 60),
        (
            Facts(comment_flags={"distress": ("worried",)}),
            ["distress"],
            Priority.URGENT,
            10,
        ),
        (
            Facts(comment_flags={"contact_request": ("call me",)}),
            ["contact_request"],
            Priority.HIGH,
            60,
        ),
        (
            Facts(comment_flags={"negative": ("rude",)}),
            ["negative_comment"],
            Priority.NORMAL,
            60,
        ),
        (
            Facts(scores=scores(nps=2), comment_flags={"distress": ("scared",)}),
            ["distress", "low_nps"],
            Priority.URGENT,
            10,
        ),
    ],
    ids=[
        "nps-6-low",
        "nps-7-fine",
        "csat-2-low",
        "csat-3-fine",
        "unresolved",
        "skipped-never-triggers",
        "pressed-0",
        "pressed-0-transferred-live",
        "offer-accepted",
        "distress-urgent",
        "comment-asks-for-call",
        "negative-comment",
        "reasons-combine",
    ],
)
def test_rule_table(facts: Facts, codes: list[str], priority: Priority, sla: int) -> None:
    """Each trigger gives its reason code, priority and SLA."""
    decision = decide(facts, DEFAULT_RULES, CONFIG)
    assert [r.code for r in decision.reasons] == codes
    assert decision.priority is priority
    assert decision.sla_minutes == sla
    assert decision.wants_task is bool(codes)


def test_survey_rules_override_the_thresholds() -> None:
    """A survey version can raise the NPS threshold and shorten the urgent SLA."""
    rules: dict[str, Any] = {**DEFAULT_RULES, "urgent_sla_minutes": 5}
    low = decide(Facts(scores=(Score("nps", 8, 8),)), rules, CONFIG)
    urgent = decide(Facts(comment_flags={"distress": ("panic",)}), rules, CONFIG)
    assert [r.code for r in low.reasons] == ["low_nps"]
    assert urgent.sla_minutes == 5


def test_opt_out_blocks_a_low_score_callback() -> None:
    """An opted-out caller with a low score gets no task."""
    decision = decide(Facts(scores=scores(nps=1), opted_out=True), DEFAULT_RULES, CONFIG)
    assert decision.blocked == "opted_out" and not decision.wants_task


def test_spoken_opt_out_blocks_too() -> None:
    """ "Stop calling me" in the comment blocks a callback like pressing 9."""
    facts = Facts(scores=scores(nps=1), comment_flags={"opt_out": ("stop calling me",)})
    assert decide(facts, DEFAULT_RULES, CONFIG).blocked == "opted_out"


def test_explicit_request_in_the_same_call_is_consent_despite_opt_out() -> None:
    """Asking for a callback in the call that opted out keeps that one callback."""
    facts = Facts(scores=scores(nps=1), wants_callback=True, opted_out=True)
    decision = decide(facts, DEFAULT_RULES, CONFIG)
    assert decision.blocked is None and decision.consent
    assert [r.code for r in decision.reasons] == ["callback_requested"]


def test_do_not_call_always_wins() -> None:
    """Even an explicit request does not open a task for a do-not-call number."""
    facts = Facts(wants_callback=True, do_not_call=True)
    assert decide(facts, DEFAULT_RULES, CONFIG).blocked == "do_not_call"
