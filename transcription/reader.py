"""The comment reader: the learned model decides each label, the cues explain it.

A comment and its clauses are embedded in one encoder batch (MiniLM, its top layers as
fine-tuned for the reader, ``transcription.comment_model.embed``) and read by the cues
(``transcription.rules``); a small network on both gives each label a probability, and the
label is flagged at the threshold chosen by leave-one-author-out when the model was trained
(tuned for recall on distress, opt-out and contact requests: missing an anxious caller
costs more than an extra callback).

What is highlighted for a flagged label: the cue phrases that were kept, when there are
any; otherwise the clause of the comment (or window of a long one) that the same model
scores highest for that label, so an agent always sees *why*, in the caller's own words.
"""

from __future__ import annotations

import re

import numpy as np

from transcription.comment_model import (
    CommentModel,
    Embedded,
    embed,
    features,
    get_model,
    unit_features,
)
from transcription.context import NEGATED
from transcription.embeddings import MiniLMEmbedder, get_embedder
from transcription.labels import LABELS, CommentAnalysis, LabelResult, empty_analysis
from transcription.rules import RuleReading, read_rules

Span = tuple[int, int]


# Worry the caller says is still there ("i'm still worried even though they said it's
# fixed"): distress whatever else the comment says (data/LABELS.md). The tuned encoder of
# 2.5 reads "fixed" as the end of a worry and scores this below the threshold; the pattern
# fires on 18 of the 5,726 training comments, every one of them labelled distress.
STILL_AFRAID = re.compile(
    r"(?<!if )\b(?:i'?m|i am|we'?re|we are|(?:s?he|it)'?s|they'?re|they are) still"
    r" (?:\w+ ){0,2}?(?:worr\w*|scared|afraid|anxious|frightened|panick\w*|stressed"
    r"|terrified|nervous)\b",
    re.IGNORECASE,
)


# A label whose only cues were negated ("i'm not worried", "don't stop calling me", "i dont
# need anyone to ring me") stands only when the model is this sure: MiniLM reads negation
# poorly.
SURE = 0.9


def decide(
    name: str, probability: float, threshold: float, reading: RuleReading, text: str = ""
) -> bool:
    """Whether ``name`` is flagged: the model's probability, overruled by the context rules
    only where those express a product decision rather than a guess (``text``: the
    comment, for the worry said to be still open).

    Cues that were reported, declined or resolved are features the model weighs, not a
    veto (reader 2.1 asked p >= 0.9 of those too): leave-one-author-out F1 rose 0.83 -> 0.87
    on contact_request without it, the others unchanged (scripts/train_comment_model.py).
    """
    if name == "distress" and reading.spans[name] and STILL_AFRAID.search(text):
        return True
    if probability < threshold:
        return False
    if reading.spans[name]:
        return True
    if reading.other_senses.get(name):
        # "take me off hold", "cancel my order", "no need to call me": the label's words in
        # another sense, and nothing else that says it (data/LABELS.md).
        return False
    if reading.dropped[name][NEGATED]:
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
    embedded = embed([text], embedder, model.tuned)[0]
    row = features(embedded, text, reading)
    probability = {name: float(p[0]) for name, p in model.probabilities(row).items()}
    flagged = {
        name: decide(name, probability[name], model.thresholds[name], reading, text)
        for name in LABELS
    }
    unexplained = [name for name in LABELS if flagged[name] and not reading.spans[name]]
    best_unit = _best_units(text, unexplained, embedded, model)

    labels: dict[str, LabelResult] = {}
    for name in LABELS:
        spans: tuple[Span, ...] = ()
        if flagged[name]:
            spans = reading.spans[name] or best_unit[name]
        labels[name] = LabelResult(
            label=name,
            flagged=flagged[name],
            score=round(probability[name], 4),
            phrases=tuple(text[s:e] for s, e in spans),
            spans=spans,
        )
    return CommentAnalysis(text=text, labels=labels, sentiment=reading.compound)


def _best_units(
    text: str, names: list[str], embedded: Embedded, model: CommentModel
) -> dict[str, tuple[Span, ...]]:
    """For each label in ``names``, the one clause (or window of a long clause) that the
    model, reading it alone, scores highest for that label; already embedded with the
    comment, so explaining costs no second pass of the encoder."""
    found: dict[str, tuple[Span, ...]] = dict.fromkeys(LABELS, ())
    if not names:
        return found
    if len(embedded.units) == 1:
        return {**found, **{name: embedded.units for name in names}}
    scores = model.probabilities(unit_features(embedded, text))
    for name in names:
        found[name] = (embedded.units[int(np.argmax(scores[name]))],)
    return found
