"""The apology script on the task page, filled from the reasons and the caller's words.

It follows the five steps agents are trained on: take responsibility, express regret,
repair, explain, and promise it will not happen again.
"""

from __future__ import annotations

from dataclasses import dataclass

from callbacks.models import CallbackTask
from transcription.analysis import CommentAnalysis


@dataclass(frozen=True)
class Step:
    title: str
    text: str


def _quote(analysis: CommentAnalysis | None, *labels: str) -> str | None:
    if analysis is None:
        return None
    for label in labels:
        result = analysis.labels.get(label)
        if result is not None and result.flagged and result.phrases:
            return result.phrases[0]
    return None


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
    said = _quote(analysis, "distress", "negative", "contact_request")
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
