"""Decode many short clips at once on CTranslate2 Whisper, in encoder windows cut to fit.

Whisper's encoder is trained on 30 s windows, and both libraries pad every clip to one: a
10 s survey comment pays for 30 s of encoder work, most of the time tiny.en spends.
CTranslate2's encoder accepts fewer frames (openai-whisper's asserts exactly 3000), so each
clip here goes into the shortest of a few fixed windows (10, 15 ... 30 s) that holds it and
a second of room, padded with zeros as both libraries pad, and the clips sharing a window
go through the encoder and the beam search together. Temperature fallback works as in both
libraries: a clip whose text came out repetitive or unsure is decoded again, with the
others that need it, at the next temperature, sampling ``best_of`` candidates.

Measured on the phone fixtures and on 48 held-out comments spoken the same way (README
"Transcription"): same WER as a full window, several times less work. Windows cut to the
clip's own length did worse on short answers (Whisper repeated them: "correct correct
correct correct"), and 10 s windows with timestamps worse again; a full window here
decodes exactly as faster-whisper's own ``transcribe(without_timestamps=True)``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
HOP = 160  # samples per mel frame
FULL_FRAMES = 3000  # one 30 s window
# Encoder windows a clip is cut to: the shortest that holds the clip and its margin. Below
# 10 s Whisper repeats short answers ("correct correct correct"); fixed windows, rather
# than each clip's own length, give a clip the same input alone or in any batch.
WINDOW_SECONDS = (10, 15, 20, 25, 30)
MAX_TOKENS = 448  # Whisper's text context
# A cut window ends in zeros where a full one would hold more speech, and now and then the
# decoder says the whole clip again into them ("the bill is wrong. the bill is wrong."): the
# text is short, so the compression ratio misses it. A repeated block of at least this many
# words at the very end is dropped; a caller's own "no no no" is shorter.
MIN_REPEATED_WORDS = 4
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode (the same meaning as in both Whisper libraries).

    Attributes:
        beam_size: Beam width at temperature 0.
        best_of: Candidates sampled at each higher temperature.
        temperatures: Temperature 0 first, then the fallbacks.
        compression_ratio_threshold: Above this, the text is a repetition loop: retry.
        log_prob_threshold: Below this average log-probability, retry.
        no_speech_threshold: Above this no-speech probability, with a log-probability below
            ``log_prob_threshold``, the clip is silence (skipped, not retried).
        margin_seconds: Room left after the clip in its window.
        batch_size: Clips encoded and decoded together.
    """

    beam_size: int = 5
    best_of: int = 5
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    margin_seconds: float = 1.0
    batch_size: int = 8


@dataclass(frozen=True)
class Decoded:
    """One clip's text with the figures the guards judge.

    ``skipped`` is Whisper's own no-speech skip (both libraries drop such a window).
    """

    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float
    skipped: bool


def fits(samples: int, options: DecodeOptions) -> bool:
    """Whether a clip of ``samples`` fits one window (longer ones go to the library)."""
    return samples <= FULL_FRAMES * HOP


def encoder_frames(samples: int, options: DecodeOptions) -> int:
    """Mel frames of the window a clip is encoded in (a full window when none is shorter)."""
    needed = samples / SAMPLE_RATE + options.margin_seconds
    seconds = next((w for w in WINDOW_SECONDS if w >= needed), WINDOW_SECONDS[-1])
    return seconds * SAMPLE_RATE // HOP


def compression_ratio(text: str) -> float:
    """How well the text compresses; a repetition loop compresses very well."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def without_repeated_tail(text: str) -> str:
    """``text`` without a word-for-word repeat of the block just before it at its end.

    Words are compared without case, apostrophes and punctuation; the text is cut where the
    repeat starts, so what stays is the caller's words as first decoded.
    """
    while True:
        words = list(_WORD.finditer(text))
        plain = [w.group().lower().replace("'", "") for w in words]
        n = len(plain)
        size = next(
            (
                k
                for k in range(n // 2, MIN_REPEATED_WORDS - 1, -1)
                if plain[n - k :] == plain[n - 2 * k : n - k]
            ),
            0,
        )
        if not size:
            return text
        text = text[: words[n - size].start()].rstrip()


def decode(
    model: Any,
    audios: Sequence[np.ndarray],
    hotwords: Sequence[str | None],
    options: DecodeOptions,
) -> list[Decoded]:
    """Decode short 16 kHz clips, in batches of clips that share a window and prompt length.

    Args:
        model: A ``faster_whisper.WhisperModel``.
        audios: Clips that :func:`fits`.
        hotwords: Per clip, text Whisper reads as said just before it (faster-whisper's
            ``hotwords``), or ``None``.
        options: Decoding options.

    Returns:
        One :class:`Decoded` per clip, in order.
    """
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, "transcribe", "en")
    context = _Context(model, tokenizer, get_suppressed_tokens(tokenizer, [-1]), options)
    prompts = [
        model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=words)
        for words in hotwords
    ]
    # CTranslate2 wants <|startoftranscript|> at one position in a batch: equal prompt lengths.
    groups: dict[tuple[int, int], list[int]] = {}
    for index, audio in enumerate(audios):
        key = (encoder_frames(audio.size, options), len(prompts[index]))
        groups.setdefault(key, []).append(index)
    size = max(1, options.batch_size)
    results: dict[int, Decoded] = {}
    for (frames, _), members in sorted(groups.items()):
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            decoded = context.decode_batch(
                frames, [audios[i] for i in chunk], [prompts[i] for i in chunk]
            )
            results.update(zip(chunk, decoded, strict=True))
    return [results[i] for i in range(len(audios))]


@dataclass
class _Context:
    model: Any
    tokenizer: Any
    suppress: list[int]
    options: DecodeOptions

    def features(self, frames: int, audios: Sequence[np.ndarray]) -> np.ndarray:
        """Log-mel features of each clip, padded with zeros to ``frames``.

        Zeros, not computed silence, are what both libraries put after a clip in its 30 s
        window; with a full window this decodes exactly as faster-whisper's ``transcribe``.
        """
        batch = np.zeros((len(audios), self.model.model.n_mels, frames), dtype=np.float32)
        for row, audio in zip(batch, audios, strict=True):
            mel = self.model.feature_extractor(audio)[:, :-1][:, :frames]
            row[:, : mel.shape[1]] = mel
        return batch

    def decode_batch(
        self, frames: int, audios: Sequence[np.ndarray], prompts: Sequence[list[int]]
    ) -> list[Decoded]:
        """Temperature 0 for the whole batch, then each fallback for the clips that need it."""
        import ctranslate2

        features = self.features(frames, audios)
        encoded = self.model.model.encode(ctranslate2.StorageView.from_array(features))
        tried: list[list[Decoded]] = [[] for _ in audios]
        pending = list(range(len(audios)))
        for step, temperature in enumerate(self.options.temperatures):
            if not pending:
                break
            source = (
                encoded
                if step == 0
                else ctranslate2.StorageView.from_array(np.ascontiguousarray(features[pending]))
            )
            generated = self.generate(source, [prompts[i] for i in pending], temperature)
            for index, decoded in zip(pending, generated, strict=True):
                tried[index].append(decoded)
            pending = [i for i in pending if self.needs_fallback(tried[i][-1])]
        return [self.choose(attempts) for attempts in tried]

    def generate(
        self, source: Any, prompts: Sequence[list[int]], temperature: float
    ) -> list[Decoded]:
        options = self.options
        if temperature > 0:
            sampling: dict[str, Any] = {
                "beam_size": 1,
                "num_hypotheses": options.best_of,
                "sampling_topk": 0,
                "sampling_temperature": temperature,
            }
        else:
            sampling = {"beam_size": options.beam_size}
        results = self.model.model.generate(
            source,
            list(prompts),
            max_length=MAX_TOKENS,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self.suppress,
            **sampling,
        )
        decoded = []
        for result in results:
            tokens = result.sequences_ids[0]
            # CTranslate2 scores are length-normalised; recover Whisper's average log-prob.
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            text = self.tokenizer.decode(tokens)
            skipped = (
                result.no_speech_prob > options.no_speech_threshold
                and avg_logprob <= options.log_prob_threshold
            )
            decoded.append(
                Decoded(
                    without_repeated_tail(text),
                    avg_logprob,
                    result.no_speech_prob,
                    compression_ratio(text.strip()),  # of what came out: a loop is retried
                    temperature,
                    skipped,
                )
            )
        return decoded

    def needs_fallback(self, decoded: Decoded) -> bool:
        options = self.options
        if decoded.skipped:
            return False  # silence: decoding harder would only invent words
        return (
            decoded.compression_ratio > options.compression_ratio_threshold
            or decoded.avg_logprob < options.log_prob_threshold
        )

    def choose(self, attempts: list[Decoded]) -> Decoded:
        """The last attempt if it passed; when none did, the likeliest non-repetitive one."""
        if not self.needs_fallback(attempts[-1]):
            return attempts[-1]
        calm = [
            a for a in attempts if a.compression_ratio <= self.options.compression_ratio_threshold
        ]
        return max(calm or attempts, key=lambda a: a.avg_logprob)
