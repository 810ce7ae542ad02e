"""The apology script on the task page, filled from the reasons and the caller's words.

It follows the five steps agents are trained on: take responsibility, express regret,
repair, explain, and promise it will not happen again. The regret quotes the caller's own
sentence around what the comment was flagged for (``core.quotes``: at most 25 words, an
ellipsis wherever it is cut), never the bare cue word: "You told us “rent”" tells the
agent nothing and sounds to the caller as if nobody listened.
"""

from __future__ import annotations

from dataclasses import dataclass

from callbacks.models import CallbackTask
from core import quotes
from transcription.analysis import CommentAnalysis
from transcription.rules import read_rules

# Which flagged words to quote, first found wins: how they felt, then what went wrong.
QUOTED_LABELS = ("distress", "negative", "contact_request")


@dataclass(frozen=True)
class Step:
    title: str
    text: str


def caller_quote(analysis: CommentAnalysis | None) -> str | None:
    """The caller's sentence around the first flagged phrase, trimmed to a clause."""
    if analysis is None:
        return None
    for label in QUOTED_LABELS:
        result = analysis.labels.get(label)
        if result is None or not result.flagged:
            continue
        # Analyses stored before spans were kept have phrases only: find them in the text.
        found = [quotes.find(analysis.text, phrase) for phrase in result.phrases]
        spans = [*result.spans, *(f for f in found if f is not None)]
        if spans:
            start, end = _strongest(analysis.text, label, spans)
            return quotes.around(analysis.text, start, end)
        if result.phrases:
            return result.phrases[0]
    return None


def _strongest(text: str, label: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The span the cues weigh most ("terrified" over "on Monday"); the first on a tie."""
    reading = read_rules(text)
    weights = dict(zip(reading.spans.get(label, ()), reading.weights.get(label, ()), strict=True))
    return max(spans, key=lambda span: weights.get(tuple(span), 0.0))  # type: ignore[arg-type]


def apology(
    task: CallbackTask, scores: dict[str, int | None], analysis: CommentAnalysis | None
) -> list[Step]:
    codes = set(task.reason_codes)
    what = []
    if scores.get("nps") is not None and "low_nps" in codes:
        what.append(f"you scored us {scores['nps']} out of 10")
    if scores.get("csat") is not None and "low_csat" in codes:
        what.append(f"you rated the help {scores['csat']} out of 5")
    if "low_resolved" in codes:
        what.append("your problem was not solved on that call")
    if codes & {"asked_for_human", "callback_requested", "contact_request"}:
        what.append("you asked to speak with someone")
    said = caller_quote(analysis)
    feeling = "worried" if "distress" in codes else "let down"
    responsibility = (
        "Thank you for taking our survey. I'm calling because "
        + (" and ".join(what) if what else "of what you told us")
        + ", and that is on us: we did not give you the service you should have had."
    )
    regret = f"I'm sorry we left you feeling {feeling}."
    if said:
        regret += f" You told us “{said}”, and I understand why."
    repair = (
        "I'd like to put this right now. Can you tell me what is still open, "
        "so I can take care of it while we're on the phone?"
    )
    explain = (
        "Here is what went wrong on our side: [say plainly what happened, once you know it, "
        "without blaming the caller or a colleague]."
    )
    promise = (
        "I've recorded this so it does not happen to you again, and I'll make sure it is "
        "followed up. You can reach me directly if anything else comes up."
    )
    return [
        Step("Take responsibility", responsibility),
        Step("Express regret", regret),
        Step("Repair", repair),
        Step("Explain", explain),
        Step("Promise it will not recur", promise),
    ]
