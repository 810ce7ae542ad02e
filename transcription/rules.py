"""The word-list reader: cues kept by their context, combined by a noisy-OR with VADER.

Up to version 1.2 this was the whole reader. It stays callable (``rules_only``) as the
baseline the benchmark measures the learned reader against, and ``read_rules`` gives the
learned model its cue features and the phrases that explain a label.

Decisions worth knowing:
    * "please don't call me back" / "no need to call": neither a contact request nor an
      opt-out; only "don't call me *again*", "stop calling", "take me off" etc. opt out.
    * ``negative`` covers any complaint about the experience, even when it ended well
      ("took ages, agent was nice though").
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from transcription.context import (
    OTHER_SENSE,
    REASONS,
    RESOLVED_1_2,
    WORD,
    cancellation,
    is_negator,
    preceding_words,
)
from transcription.cues import CUES_1_2, Cue
from transcription.cues_2 import CUES_2, OTHER_SENSES, RESOLVED_2
from transcription.labels import LABELS, CommentAnalysis, LabelResult, empty_analysis

# The version the word-list reader had when it was the whole reader; its results say so.
RULES_VERSION = "1.2.0"
FLAG_THRESHOLD = 0.5

Span = tuple[int, int]


@dataclass(frozen=True)
class RuleSet:
    """The cues to look for, the words that say a worry is over, and other senses."""

    cues: tuple[Cue, ...]
    resolved: re.Pattern[str]
    other_senses: dict[str, tuple[re.Pattern[str], ...]]


# The word-list reader as it was (the baseline), and the wider set the model reads with.
RULES_1_2 = RuleSet(tuple(CUES_1_2), RESOLVED_1_2, {})
RULES_2 = RuleSet((*CUES_1_2, *CUES_2), RESOLVED_2, OTHER_SENSES)


@dataclass(frozen=True)
class RuleReading:
    """What the cues and VADER found in one text, before anything is decided."""

    compound: float
    negative_share: float
    positive_share: float
    spans: dict[str, tuple[Span, ...]]  # kept cues, overlapping ones merged
    weights: dict[str, tuple[float, ...]]  # one per span
    scores: dict[str, float]  # noisy-OR of the weights and VADER's nudge, 0..1
    dropped: dict[str, dict[str, int]]  # label -> why cues were dropped -> how many
    sentiment_spans: tuple[Span, ...]  # VADER's strongly negative words, not negated
    # label -> where the text uses that label's words in another sense ("cancel my order")
    other_senses: dict[str, tuple[Span, ...]]


_vader: SentimentIntensityAnalyzer | None = None
_vader_lock = threading.Lock()


def get_vader() -> SentimentIntensityAnalyzer:
    """Build VADER once per process (loading its lexicon takes ~15 ms)."""
    global _vader
    if _vader is None:
        with _vader_lock:
            if _vader is None:
                _vader = SentimentIntensityAnalyzer()
    return _vader


def _noisy_or(weights: list[float]) -> float:
    """Independent pieces of evidence: each closes part of the remaining gap to 1."""
    remaining = 1.0
    for w in weights:
        remaining *= 1.0 - w
    return 1.0 - remaining


def _sentiment_weight(label: str, compound: float) -> float:
    """Extra evidence from VADER: a clearly negative comment is a complaint on its own."""
    if label == "negative":
        # -0.3 and below starts counting; -0.8 alone is enough to flag.
        return min(max((-compound - 0.3) / 0.5, 0.0), 1.0) * 0.6
    if label == "distress":
        # Only ever a nudge: sad is not the same as anxious.
        return 0.15 if compound <= -0.5 else 0.0
    return 0.0


def _vader_spans(text: str, analyser: SentimentIntensityAnalyzer) -> tuple[Span, ...]:
    """Spans of VADER's negative lexicon words, to highlight a sentiment-only flag."""
    spans = []
    for m in WORD.finditer(text):
        strongly_negative = analyser.lexicon.get(m.group().lower(), 0.0) <= -1.5
        if strongly_negative and not any(
            is_negator(w) for w in preceding_words(text, m.start(), 3)
        ):
            spans.append((m.start(), m.end()))
    return tuple(spans)


def read_rules(text: str, rules: RuleSet = RULES_2) -> RuleReading:
    """Every cue of every label in ``text``, kept or dropped, and VADER's view of it."""
    analyser = get_vader()
    polarity = analyser.polarity_scores(text)
    compound = float(polarity["compound"])
    hits: dict[str, list[tuple[int, int, float]]] = {name: [] for name in LABELS}
    dropped: dict[str, dict[str, int]] = {name: dict.fromkeys(REASONS, 0) for name in LABELS}
    elsewhere = {
        label: [m.span() for pattern in patterns for m in pattern.finditer(text)]
        for label, patterns in rules.other_senses.items()
    }
    for cue in rules.cues:
        for m in cue.pattern.finditer(text):
            reason = cancellation(cue, text, m.start(), m.end(), rules.resolved)
            if reason is None and any(
                s < m.end() and m.start() < e for s, e in elsewhere.get(cue.label, ())
            ):
                reason = OTHER_SENSE
            if reason is None:
                hits[cue.label].append((m.start(), m.end(), cue.weight))
            else:
                dropped[cue.label][reason] += 1

    spans: dict[str, tuple[Span, ...]] = {}
    weights: dict[str, tuple[float, ...]] = {}
    scores: dict[str, float] = {}
    for name in LABELS:
        # Overlapping cues ("waited 45 minutes" + "45 minutes on hold") are one piece of
        # evidence, highlighted as one span.
        chosen: list[tuple[int, int, float]] = []
        for start, end, weight in sorted(hits[name]):
            if chosen and start < chosen[-1][1]:
                prev_start, prev_end, prev_weight = chosen[-1]
                chosen[-1] = (prev_start, max(end, prev_end), max(weight, prev_weight))
            else:
                chosen.append((start, end, weight))
        spans[name] = tuple((s, e) for s, e, _ in chosen)
        weights[name] = tuple(w for _, _, w in chosen)
        scores[name] = _noisy_or([*weights[name], _sentiment_weight(name, compound)])
    return RuleReading(
        compound=compound,
        negative_share=float(polarity["neg"]),
        positive_share=float(polarity["pos"]),
        spans=spans,
        weights=weights,
        scores=scores,
        dropped=dropped,
        sentiment_spans=_vader_spans(text, analyser),
        other_senses={label: tuple(found) for label, found in elsewhere.items()},
    )


def rules_only(text: str) -> CommentAnalysis:
    """The word-list reader of version 1.2: a label is flagged at score >= 0.5."""
    if not text.strip():
        return empty_analysis(text, RULES_VERSION)
    reading = read_rules(text, RULES_1_2)
    labels: dict[str, LabelResult] = {}
    for name in LABELS:
        spans = reading.spans[name]
        if name == "negative" and not spans and _sentiment_weight(name, reading.compound) > 0:
            spans = reading.sentiment_spans
        labels[name] = LabelResult(
            label=name,
            flagged=reading.scores[name] >= FLAG_THRESHOLD,
            score=round(reading.scores[name], 4),
            phrases=tuple(text[s:e] for s, e in spans),
            spans=spans,
        )
    return CommentAnalysis(
        text=text, labels=labels, sentiment=reading.compound, analyser_version=RULES_VERSION
    )
