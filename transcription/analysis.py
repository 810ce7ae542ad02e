"""Read a survey comment transcript for the labels that decide whether someone calls back.

This is the one entry point (``analyse_comment``); the pieces live next to it:

* ``transcription.labels``: the result types (``CommentAnalysis``, ``LabelResult``) stored
  as JSON on the recording, ``LABELS`` and ``ANALYSER_VERSION``;
* ``transcription.reader``: the learned reader (MiniLM sentence embedding + cue features,
  read by a small network, ``transcription.comment_model``), the default since 2.0;
* ``transcription.rules`` with ``cues``, ``cues_2`` and ``context``: the word-list cues,
  negation, reported speech and resolved worry; ``rules_only`` is the 1.2 reader, kept
  callable as the baseline the benchmark measures against.

What each label means is ``data/LABELS.md``, the guide every author of the training data
labels by. Decisions the reader keeps (tests/transcription/test_analysis.py):
    * "I was worried at first but you fixed it": worry resolved during the call is not
      distress (no urgent callback). Present worry always counts, for oneself or for
      someone else ("my dad's oxygen is running low").
    * "don't stop calling me": a negated opt-out is nothing.
    * "please don't call me back" / "no need to call": neither a contact request nor an
      opt-out (declining one call is not leaving all contact); "don't call me again",
      "stop calling", "take me off" opt out; "just email me" asks to be contacted.
    * ``negative`` covers any complaint about the experience, even when it ended well.
"""

from __future__ import annotations

import re

from transcription.labels import ANALYSER_VERSION, LABELS, CommentAnalysis, LabelResult
from transcription.reader import read_comment
from transcription.rules import RULES_VERSION, rules_only

__all__ = [
    "ANALYSER_VERSION",
    "LABELS",
    "MAX_COMMENT",
    "RULES_VERSION",
    "CommentAnalysis",
    "LabelResult",
    "analyse_comment",
    "readable",
    "rules_only",
]

# The longest comment a survey records is 300 s, about 1,000 words (6,000 characters) at a
# brisk pace. Reading costs about 0.2 s of CPU per 1,000 characters, so no more is read.
MAX_COMMENT = 6_000
# Control characters (not tab or line ends): a NUL was read as a request to be called.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def readable(text: str) -> str:
    """``text`` as every reading takes it: its first ``MAX_COMMENT`` characters, each control
    character as a space."""
    return _CONTROL.sub(" ", text[:MAX_COMMENT])


def analyse_comment(text: str, *, model: bool = True) -> CommentAnalysis:
    """Read ``text`` for every label in ``LABELS``; pure and safe to call from threads.

    Args:
        text: the transcript, as Whisper wrote it.
        model: False reads with the 1.2 word-list rules alone (the benchmark's baseline).
    """
    text = readable(text)
    return read_comment(text) if model else rules_only(text)
