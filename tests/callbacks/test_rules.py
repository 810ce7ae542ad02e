"""The rule table, as pure functions: which survey answers open a callback, and how urgent."""

from __future__ import annotations

import pytest

from callbacks.models import Priority
from callbacks.rules import Facts, Score, decide
from core.models import CallbackRules

DEFAULTS = CallbackRules()


def scores(**values: int | None) -> tuple[Score, ...]:
    thresholds = {"nps": 6, "csat": 2, "resolved": 0}
    return tuple(Score(k, v, thresholds[k]) for k, v in values.items())


@pytest.mark.parametrize(
    ("facts", "codes", "priority"),
    [
        (Facts(scores=scores(nps=6)), ["low_nps"], Priority.NORMAL),
        (Facts(scores=scores(nps=7)), [], Priority.NORMAL),
        (Facts(scores=scores(csat=2)), ["low_csat"], Priority.NORMAL),
        (Facts(scores=scores(csat=3)), [], Priority.NORMAL),
        (Facts(scores=scores(resolved=0)), ["low_resolved"], Priority.NORMAL),
        (Facts(scores=scores(nps=None, csat=None)), [], Priority.NORMAL),
        (Facts(asked_for_human=True), ["asked_for_human"], Priority.HIGH),
        (Facts(asked_for_human=True, transferred=True), [], Priority.NORMAL),
        (Facts(wants_callback=True), ["callback_requested"], Priority.HIGH),
        (
            Facts(comment_flags={"distress": ("worried",)}),
            ["distress"],
            Priority.URGENT,
        ),
        (
            Facts(comment_flags={"contact_request": ("call me",)}),
            ["contact_request"],
            Priority.HIGH,
        ),
        (
            Facts(comment_flags={"negative": ("rude",)}),
            ["negative_comment"],
            Priority.NORMAL,
        ),
        (
            Facts(scores=scores(nps=2), comment_flags={"distress": ("scared",)}),
            ["distress", "low_nps"],
            Priority.URGENT,
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
def test_rule_table(facts: Facts, codes: list[str], priority: Priority) -> None:
    """Each trigger gives its reason code and priority."""
    decision = decide(facts, DEFAULTS)
    assert [r.code for r in decision.reasons] == codes
    assert decision.priority is priority
    assert decision.wants_task is bool(codes)


def test_question_threshold_decides_what_is_low() -> None:
    """A question with a higher threshold makes a higher score low."""
    low = decide(Facts(scores=(Score("nps", 8, 8),)), DEFAULTS)
    assert [r.code for r in low.reasons] == ["low_nps"]


def test_survey_can_turn_off_negative_comment_callbacks() -> None:
    """With ``negative_comment`` off, an unhappy comment alone opens nothing."""
    facts = Facts(comment_flags={"negative": ("rude",)})
    assert not decide(facts, CallbackRules(negative_comment=False)).wants_task


def test_old_sla_keys_in_a_version_are_ignored() -> None:
    """Versions saved with SLA minutes still load; the minutes are not rules any more."""
    rules = CallbackRules.from_json({"urgent_sla_minutes": 1, "negative_comment": False})
    assert rules == CallbackRules(negative_comment=False)


def test_opt_out_blocks_a_low_score_callback() -> None:
    """An opted-out caller with a low score gets no task."""
    decision = decide(Facts(scores=scores(nps=1), opted_out=True), DEFAULTS)
    assert decision.blocked == "opted_out" and not decision.wants_task


def test_spoken_opt_out_blocks_too() -> None:
    """ "Stop calling me" in the comment blocks a callback like pressing 9."""
    facts = Facts(scores=scores(nps=1), comment_flags={"opt_out": ("stop calling me",)})
    assert decide(facts, DEFAULTS).blocked == "opted_out"


def test_explicit_request_in_the_same_call_is_consent_despite_opt_out() -> None:
    """Asking for a callback in the call that opted out keeps that one callback."""
    facts = Facts(scores=scores(nps=1), wants_callback=True, opted_out=True)
    decision = decide(facts, DEFAULTS)
    assert decision.blocked is None and decision.consent
    assert [r.code for r in decision.reasons] == ["callback_requested"]


def test_do_not_call_always_wins() -> None:
    """Even an explicit request does not open a task for a do-not-call number."""
    facts = Facts(wants_callback=True, do_not_call=True)
    assert decide(facts, DEFAULTS).blocked == "do_not_call"
