"""A transcript cut into plain and flagged pieces, from the spans its analysis found.

The one highlighter: the agents' console and the managers' call page both show these
pieces. Overlapping spans merge into one piece that carries every label covering it, so a
phrase that is both distressed and negative is marked once, with both labels, and no
label is ever dropped. Spans that merely touch stay separate pieces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from transcription.analysis import CommentAnalysis


@dataclass(frozen=True)
class Segment:
    """One piece of the transcript; ``labels`` (sorted) are empty for plain text."""

    text: str
    labels: tuple[str, ...] = ()


def segments(text: str, marks: Iterable[tuple[int, int, str]]) -> list[Segment]:
    """``text`` cut at the marks ``(start, end, label)``; marks outside the text are ignored."""
    valid = sorted((s, e, label) for s, e, label in marks if 0 <= s < e <= len(text))
    merged: list[tuple[int, int, set[str]]] = []
    for start, end, label in valid:
        if merged and start < merged[-1][1]:
            first, last_end, labels = merged[-1]
            merged[-1] = (first, max(last_end, end), labels | {label})
        else:
            merged.append((start, end, {label}))
    pieces: list[Segment] = []
    pos = 0
    for start, end, labels in merged:
        if start > pos:
            pieces.append(Segment(text[pos:start]))
        pieces.append(Segment(text[start:end], tuple(sorted(labels))))
        pos = end
    if pos < len(text):
        pieces.append(Segment(text[pos:]))
    return pieces


def highlight(analysis: CommentAnalysis) -> list[Segment]:
    """The analysed transcript with every flagged label's spans marked."""
    return segments(
        analysis.text,
        (
            (start, end, name)
            for name in analysis.flagged()
            for start, end in analysis.labels[name].spans
        ),
    )
