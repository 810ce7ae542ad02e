"""Keep Whisper from putting words in a silent caller's mouth.

Whisper, given silence, hiss or a click, tends to emit filler such as "Thank you." or
" . . .". Two independent checks stop that, and both engines apply the same ones:

1. Before decoding, an energy gate: the clip must hold enough 30 ms frames that stand well
   above its own noise floor. Constant hiss or hum has no such frames, silence is below the
   absolute floor, and a click is too brief.
2. After decoding, each segment is judged on Whisper's own confidence figures.

Thresholds, tuned on tests/fixtures/audio (phone-band TTS with line hiss, made by
scripts/make_audio_fixtures.py) and on the filler Whisper produced for the non-speech clips
with its own no-speech skip switched off:

- Energy: in speech clips the 90th-percentile frame is 22-28 dB over the 10th-percentile
  floor; hiss/hum never rises 1.5 dB over it, line silence sits at -60 dBFS, and the click
  gives one 30 ms frame. The margin is 6 dB, not more, because speech under heavy noise
  (about 0 dB SNR) still has 0.1-2.4 s of frames 6 dB up but almost none 10 dB up, and
  Whisper can still get words out of it. -50 dBFS keeps line silence out, and 0.25 s of
  loud frames is about one short word ("no"), so a terse answer stays in.
- Segments: real speech scored no_speech_prob <= 0.24, avg_logprob >= -0.45,
  compression_ratio <= 1.4. Filler (" . . .", "Thank you.", "you", "Okay.") scored
  no_speech_prob 0.76-0.95 with avg_logprob -0.84 to -1.92. So a segment goes when it has no
  word characters, when no_speech_prob > 0.6 with avg_logprob < -0.7, or when avg_logprob
  < -1.2 on its own; compression_ratio > 2.4 (Whisper's own limit) catches repetition loops.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000
FRAME_SECONDS = 0.03
ABSOLUTE_FLOOR_DBFS = -50.0
MARGIN_OVER_FLOOR_DB = 6.0
MIN_LOUD_SECONDS = 0.25
MIN_CLIP_SECONDS = 0.5

NO_SPEECH_PROB = 0.6
FILLER_LOGPROB = -0.7
MIN_LOGPROB = -1.2
MAX_COMPRESSION_RATIO = 2.4
# Passed to the decoders: below this average log-probability they retry a window at a higher
# temperature (Whisper's default). The guards above decide what is kept.
DECODER_LOGPROB_THRESHOLD = -1.0

_HAS_WORD = re.compile(r"[A-Za-z0-9]")


class ScoredSegment(Protocol):
    """The per-segment figures both engines report."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


def frame_levels_dbfs(audio: np.ndarray) -> np.ndarray:
    """RMS level of each 30 ms frame, in dB relative to full scale."""
    size = int(SAMPLE_RATE * FRAME_SECONDS)
    count = audio.size // size
    if count == 0:
        return np.zeros(0)
    frames = audio[: count * size].astype(np.float64).reshape(count, size)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def loud_seconds(audio: np.ndarray) -> float:
    """Seconds of frames well above both the clip's noise floor and an absolute floor."""
    levels = frame_levels_dbfs(audio)
    if levels.size == 0:
        return 0.0
    noise_floor = float(np.percentile(levels, 10))
    threshold = max(noise_floor + MARGIN_OVER_FLOOR_DB, ABSOLUTE_FLOOR_DBFS)
    return float(np.count_nonzero(levels > threshold)) * FRAME_SECONDS


def may_contain_speech(audio: np.ndarray) -> bool:
    """Whether a 16 kHz clip is long and lively enough to be worth decoding."""
    if audio.size < MIN_CLIP_SECONDS * SAMPLE_RATE:
        return False
    return loud_seconds(audio) >= MIN_LOUD_SECONDS


def keep_segment(segment: ScoredSegment) -> bool:
    """Whether a decoded segment looks like real words rather than filler."""
    if not _HAS_WORD.search(segment.text):
        return False
    if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < FILLER_LOGPROB:
        return False
    if segment.avg_logprob < MIN_LOGPROB:
        return False
    return segment.compression_ratio <= MAX_COMPRESSION_RATIO
