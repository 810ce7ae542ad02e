"""What reading a comment produces: one verdict per label, with the phrases that explain it.

Callbacks, the dashboard and the highlighter depend on this shape (``labels[name].spans``,
``.phrases``, ``flagged()``, ``to_dict``/``from_dict``); it is stored as JSON on the
recording, so it must keep reading what older versions wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LABELS: tuple[str, ...] = ("distress", "negative", "contact_request", "opt_out")

# Bump whenever the cues, the model, its weights or a threshold change: stored results name
# the reader that produced them, and ``flask comments reanalyse`` re-reads older ones.
ANALYSER_VERSION = "2.8.1"


@dataclass(frozen=True)
class LabelResult:
    """One label's verdict; ``phrases``/``spans`` are the words that explain it, verbatim."""

    label: str
    flagged: bool
    score: float
    phrases: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class CommentAnalysis:
    """Everything read from one transcript, in a form that round-trips through JSON."""

    text: str
    labels: dict[str, LabelResult]
    sentiment: float
    analyser_version: str = field(default=ANALYSER_VERSION)

    def flagged(self) -> list[str]:
        """Flagged label names, in ``LABELS`` order."""
        return [name for name in LABELS if name in self.labels and self.labels[name].flagged]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sentiment": self.sentiment,
            "analyser_version": self.analyser_version,
            "labels": {
                name: {
                    "flagged": r.flagged,
                    "score": r.score,
                    "phrases": list(r.phrases),
                    "spans": [list(s) for s in r.spans],
                }
                for name, r in self.labels.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommentAnalysis:
        labels = {
            name: LabelResult(
                label=name,
                flagged=bool(raw["flagged"]),
                score=float(raw["score"]),
                phrases=tuple(raw.get("phrases", ())),
                spans=tuple((int(s), int(e)) for s, e in raw.get("spans", ())),
            )
            for name, raw in data["labels"].items()
        }
        return cls(
            text=data["text"],
            labels=labels,
            sentiment=float(data["sentiment"]),
            analyser_version=data.get("analyser_version", "unknown"),
        )


def empty_analysis(text: str, version: str = ANALYSER_VERSION) -> CommentAnalysis:
    """A blank transcript: every label present, unflagged, score 0."""
    labels = {name: LabelResult(name, False, 0.0) for name in LABELS}
    return CommentAnalysis(text=text, labels=labels, sentiment=0.0, analyser_version=version)
