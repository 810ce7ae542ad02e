"""The words callers use, given to Whisper so it hears them.

Without help tiny.en turns "my mother's prescription" into "my mother with friction" and a
product name into whatever common word sounds closest. Each survey version lists its terms
(product names, "prescription", "refund", "engineer"...; the editor's *Vocabulary* field,
else ``WHISPER_VOCABULARY``), and the engines put them before every 30 s window as a
prompt, which Whisper reads as text said just before the clip.

The prompt is phrased as a glossary ("Glossary: a, b, c."), not a bare list: on the tuning
clips (``scripts/make_vocabulary_clips.py --tune``, kept apart from the benchmark's) both
helped as much, but a bare list was read back into rustle and breathing ("Zentra") and the
glossary was not.

A prompt also makes Whisper readier to hear words in noise. On the tuning noise (keypad
tones, rustle, breathing, crackle; not the benchmark's clips) prompted decoding produced
filler ("Whoa!", "okay, okay", "bop bop bop", "Zentra") scoring a no-speech probability of
0.47-0.60, which the general guards keep, while prompted speech scored 0.18 or less. So a
segment decoded with a prompt must also score ``PROMPTED_NO_SPEECH_PROB`` or less.
"""

from __future__ import annotations

import re

from transcription.guards import ScoredSegment

MAX_CHARS = 600  # about 150 tokens; Whisper keeps at most 223 tokens of prompt
PROMPTED_NO_SPEECH_PROB = 0.4
_SEPARATORS = re.compile(r"[,;\n]+")


def terms(text: str | None) -> list[str]:
    """The terms in a vocabulary text: comma, semicolon or line separated, each once."""
    found: dict[str, str] = {}
    for raw in _SEPARATORS.split(text or ""):
        term = " ".join(raw.split())
        if term and term.casefold() not in found:
            found[term.casefold()] = term
    return list(found.values())


def normalise(text: str | None) -> str:
    """A vocabulary text as stored: its terms joined by ", "; ``""`` when there are none."""
    return ", ".join(terms(text))


def whisper_prompt(vocabulary: str | None) -> str | None:
    """What Whisper is given before each window, or ``None`` for no terms."""
    listed = terms(vocabulary)
    return f"Glossary: {', '.join(listed)}." if listed else None


def keep_prompted_segment(segment: ScoredSegment) -> bool:
    """Whether a segment decoded with a prompt is sure enough to be speech."""
    return segment.no_speech_prob <= PROMPTED_NO_SPEECH_PROB


def for_survey(version_vocabulary: str | None, default: str | None) -> str | None:
    """A survey version's own terms, else the configured default."""
    return version_vocabulary if terms(version_vocabulary) else default
