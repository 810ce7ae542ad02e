"""The comment reader: the learned model decides each label, the cues explain it.

A comment is embedded once (MiniLM, ``transcription.embeddings``) and read by the cues
(``transcription.rules``); per label, a logistic regression on both gives a probability
and the label is flagged at the threshold chosen by cross-validation when the model was
trained (tuned for recall on distress, opt-out and contact requests: missing an anxious
caller costs more than an extra callback).

What is highlighted for a flagged label: the cue phrases that were kept, when there are
any; otherwise the clause of the comment that the same model scores highest for that
label, so an agent always sees *why*, in the caller's own words.
"""

from __future__ import annotations

import numpy as np

from transcription.comment_model import CommentModel, features, get_model
from transcription.context import OTHER_SENSE, clauses
from transcription.embeddings import MiniLMEmbedder, get_embedder
from transcription.labels import LABELS, CommentAnalysis, LabelResult, empty_analysis
from transcription.rules import RuleReading, read_rules

Span = tuple[int, int]

# A contact request the cues found only as reported speech, declined or negated ("they said
# they'd call me back", "no need to call me back") stands only when the model is this sure.
SURE = 0.9


def decide(name: str, probability: float, threshold: float, reading: RuleReading) -> bool:
    """Whether ``name`` is flagged: the model's probability, overruled by the context rules
    only where those express a product decision rather than a guess."""
    if probability < threshold:
        return False
    if reading.spans[name]:
        return True
    dropped = reading.dropped[name]
    if dropped[OTHER_SENSE]:
        # "take me off hold", "pay my rent through the app": the label's words, another sense.
        return False
    if name == "contact_request" and any(dropped.values()):
        return probability >= SURE
    return True


def read_comment(
    text: str, embedder: MiniLMEmbedder | None = None, model: CommentModel | None = None
) -> CommentAnalysis:
    """Read ``text`` for every label in ``LABELS``; pure and safe to call from threads."""
    if not text.strip():
        return empty_analysis(text)
    embedder = embedder or get_embedder()
    model = model or get_model()
    reading = read_rules(text)
    row = features(embedder.encode([text])[0], text, reading)
    probability = {name: float(p[0]) for name, p in model.probabilities(row).items()}
    flagged = {
        name: decide(name, probability[name], model.labels[name].threshold, reading)
        for name in LABELS
    }
    unexplained = [name for name in LABELS if flagged[name] and not reading.spans[name]]
    best_clause = _best_clauses(text, unexplained, embedder, model)

    labels: dict[str, LabelResult] = {}
    for name in LABELS:
        spans: tuple[Span, ...] = ()
        if flagged[name]:
            spans = reading.spans[name] or best_clause[name]
        labels[name] = LabelResult(
            label=name,
            flagged=flagged[name],
            score=round(probability[name], 4),
            phrases=tuple(text[s:e] for s, e in spans),
            spans=spans,
        )
    return CommentAnalysis(text=text, labels=labels, sentiment=reading.compound)


def _best_clauses(
    text: str, names: list[str], embedder: MiniLMEmbedder, model: CommentModel
) -> dict[str, tuple[Span, ...]]:
    """For each label in ``names``, the one clause the model scores highest for it."""
    found: dict[str, tuple[Span, ...]] = dict.fromkeys(LABELS, ())
    if not names:
        return found
    spans = clauses(text) or [(0, len(text))]
    if len(spans) == 1:
        return {**found, **{name: (spans[0],) for name in names}}
    pieces = [text[s:e] for s, e in spans]
    readings: list[RuleReading] = [read_rules(piece) for piece in pieces]
    rows = np.stack(
        [
            features(vector, piece, reading)
            for vector, piece, reading in zip(
                embedder.encode(pieces), pieces, readings, strict=True
            )
        ]
    )
    scores = model.probabilities(rows)
    for name in names:
        found[name] = (spans[int(np.argmax(scores[name]))],)
    return found
