"""What a recording said: the transcript and the segments Whisper decoded it in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Segment:
    """One stretch of decoded speech with Whisper's confidence figures."""

    start: float
    end: float
    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


@dataclass
class Transcript:
    """What a recording said.

    Attributes:
        text: The kept segments joined; ``""`` when nobody spoke.
        language: Language decoded.
        duration: Audio length in seconds.
        engine: Name of the engine that produced it.
        segments: Segments kept by the guards.
        dropped_segments: Segments the guards threw away as filler.
    """

    text: str
    language: str
    duration: float
    engine: str
    segments: list[Segment] = field(default_factory=list)
    dropped_segments: int = 0
