"""The one transcript highlighter: overlapping spans merge, no label is lost."""

from __future__ import annotations

from transcription.analysis import CommentAnalysis, LabelResult
from transcription.highlight import Segment, highlight, segments

TEXT = "I am so scared and angry about it"


def test_plain_text_is_one_piece() -> None:
    """Without marks the transcript comes back whole and unmarked."""
    assert segments(TEXT, ()) == [Segment(TEXT)]


def test_overlapping_spans_merge_into_one_piece_with_every_label() -> None:
    """Two labels on overlapping words make one mark carrying both labels."""
    pieces = segments(TEXT, [(8, 14, "distress"), (11, 24, "negative")])
    assert pieces == [
        Segment("I am so "),
        Segment("scared and angry", ("distress", "negative")),
        Segment(" about it"),
    ]


def test_a_span_inside_another_adds_its_label() -> None:
    """A short span inside a longer one keeps the longer extent and both labels."""
    pieces = segments(TEXT, [(8, 24, "negative"), (8, 14, "distress")])
    assert pieces[1] == Segment("scared and angry", ("distress", "negative"))


def test_touching_spans_stay_separate() -> None:
    """Spans that only meet at a boundary are two marks."""
    pieces = segments(TEXT, [(8, 14, "distress"), (14, 24, "negative")])
    assert [p.labels for p in pieces] == [(), ("distress",), ("negative",), ()]


def test_spans_outside_the_text_are_ignored() -> None:
    """Spans from another text (out of range or empty) mark nothing."""
    assert segments(TEXT, [(30, 99, "distress"), (5, 5, "negative")]) == [Segment(TEXT)]


def test_only_flagged_labels_are_marked() -> None:
    """A label the analysis did not flag leaves its spans plain."""
    analysis = CommentAnalysis(
        text=TEXT,
        labels={
            "distress": LabelResult("distress", True, 0.9, ("scared",), ((8, 14),)),
            "negative": LabelResult("negative", False, 0.2, ("angry",), ((19, 24),)),
        },
        sentiment=-0.5,
    )
    assert [p for p in highlight(analysis) if p.labels] == [Segment("scared", ("distress",))]
