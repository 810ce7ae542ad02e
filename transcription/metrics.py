"""Word error rate, for tests and the benchmark."""

from __future__ import annotations

import re

# Spelled-out forms Whisper and the fixture texts disagree on without a real error.
_CONTRACTIONS = {
    "can't": "cannot",
    "won't": "will not",
    "n't": " not",
    "i'm": "i am",
    "'re": " are",
    "'ve": " have",
    "'ll": " will",
    "'d": " would",
}
_CONTRACTION = re.compile("|".join(re.escape(key) for key in _CONTRACTIONS))
_NOT_WORD = re.compile(r"[^a-z0-9' ]+")


def normalize_text(text: str) -> list[str]:
    """Lower-case words with punctuation dropped and contractions spelled out."""
    text = text.lower().replace("\u2019", "'")
    text = _CONTRACTION.sub(lambda match: _CONTRACTIONS[match.group(0)], text)
    text = _NOT_WORD.sub(" ", text.replace("-", " "))
    return [word.strip("'") for word in text.split() if word.strip("'")]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Word edit distance between two texts and the reference length, after normalising."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            substitution = previous[j - 1] + (ref_word != hyp_word)
            current.append(min(previous[j] + 1, current[j - 1] + 1, substitution))
        previous = current
    return previous[-1], len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Edits needed to turn the hypothesis into the reference, per reference word."""
    errors, words = word_errors(reference, hypothesis)
    if words == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / words
