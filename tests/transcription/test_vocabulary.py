"""A survey's vocabulary: parsed, put to both engines as a prompt, and guarded against being
read back into silence or noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from transcription import vocabulary
from transcription.engines import (
    SAMPLE_RATE,
    EngineSettings,
    FasterWhisperEngine,
    OpenAIWhisperEngine,
)

TERMS = "prescription, refund, FibreMax"


def speech_like(seconds: float = 2.0) -> np.ndarray:
    """Loud bursts over quiet hiss, which the energy gate lets through to the decoder."""
    rng = np.random.default_rng(3)
    audio = rng.normal(0.0, 0.001, int(seconds * SAMPLE_RATE))
    for start in range(0, audio.size, SAMPLE_RATE // 2):
        audio[start : start + SAMPLE_RATE // 4] += rng.normal(0.0, 0.2, SAMPLE_RATE // 4)
    return audio.astype(np.float32)


@dataclass
class FakeSegment:
    text: str
    no_speech_prob: float
    avg_logprob: float = -0.3
    compression_ratio: float = 1.0
    start: float = 0.0
    end: float = 1.0


class FakeFasterModel:
    """Stands in for faster_whisper.WhisperModel: records the options, returns set segments."""

    def __init__(self, segments: list[FakeSegment]) -> None:
        self.segments = segments
        self.options: dict[str, Any] = {}

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[list[FakeSegment], None]:
        self.options = options
        return self.segments, None


class FakeOpenAIModel(FakeFasterModel):
    """Stands in for an openai-whisper model."""

    def transcribe(self, audio: np.ndarray, **options: Any) -> dict[str, Any]:  # type: ignore[override]
        self.options = options
        return {"segments": [vars(segment) for segment in self.segments]}


def faster_engine(*segments: FakeSegment) -> tuple[FasterWhisperEngine, FakeFasterModel]:
    """The real faster-whisper engine code around a fake model (no weights loaded)."""
    engine = FasterWhisperEngine.__new__(FasterWhisperEngine)
    super(FasterWhisperEngine, engine).__init__(EngineSettings())
    model = FakeFasterModel(list(segments))
    engine.model = model
    return engine, model


def openai_engine(*segments: FakeSegment) -> tuple[OpenAIWhisperEngine, FakeOpenAIModel]:
    """The real openai-whisper engine code around a fake model (no weights loaded)."""
    engine = OpenAIWhisperEngine.__new__(OpenAIWhisperEngine)
    super(OpenAIWhisperEngine, engine).__init__(EngineSettings(engine="openai-whisper"))
    model = FakeOpenAIModel(list(segments))
    engine.model = model
    return engine, model


# --- the text -------------------------------------------------------------------------


def test_terms_split_on_commas_semicolons_and_lines() -> None:
    """Commas, semicolons and new lines all separate terms; spacing is tidied."""
    text = "prescription,  refund;bill\n direct   debit ,"
    assert vocabulary.terms(text) == ["prescription", "refund", "bill", "direct debit"]


def test_terms_keep_the_first_spelling_of_a_repeated_term() -> None:
    """A term listed twice in different case is kept once, as first written."""
    assert vocabulary.normalise("FibreMax, fibremax, Refund") == "FibreMax, Refund"


def test_no_terms_means_no_prompt() -> None:
    """An empty or blank vocabulary gives Whisper no prompt at all."""
    assert vocabulary.whisper_prompt(None) is None
    assert vocabulary.whisper_prompt(" , \n ") is None


def test_the_prompt_is_a_glossary_of_the_terms() -> None:
    """The terms reach Whisper as one short glossary sentence."""
    prompt = vocabulary.whisper_prompt("prescription;refund")
    assert prompt == "Glossary: prescription, refund."


def test_a_survey_without_terms_uses_the_default() -> None:
    """A version with no terms of its own falls back to the configured list."""
    assert vocabulary.for_survey(None, "bill") == "bill"
    assert vocabulary.for_survey("  ", "bill") == "bill"
    assert vocabulary.for_survey("FibreMax", "bill") == "FibreMax"


# --- the engines ----------------------------------------------------------------------


def test_faster_whisper_gets_the_terms_as_hotwords_for_every_window() -> None:
    """faster-whisper is given the glossary as hotwords, which precede every 30 s window."""
    engine, model = faster_engine(FakeSegment("my mother's prescription", 0.1))
    transcript = engine.transcribe(speech_like(), vocabulary=TERMS)
    assert model.options["hotwords"] == f"Glossary: {TERMS}."
    assert "initial_prompt" not in model.options
    assert transcript.text == "my mother's prescription"


def test_openai_whisper_carries_the_terms_into_every_window() -> None:
    """openai-whisper is given the glossary as its initial prompt, carried to each window."""
    engine, model = openai_engine(FakeSegment("my mother's prescription", 0.1))
    transcript = engine.transcribe(speech_like(), vocabulary=TERMS)
    assert model.options["initial_prompt"] == f"Glossary: {TERMS}."
    assert model.options["carry_initial_prompt"] is True
    assert transcript.text == "my mother's prescription"


@pytest.mark.parametrize("make", [faster_engine, openai_engine])
def test_without_terms_the_engines_get_no_prompt(make: Any) -> None:
    """No vocabulary, no prompt options: decoding is exactly as before."""
    engine, model = make(FakeSegment("hello", 0.1))
    engine.transcribe(speech_like())
    assert not {"hotwords", "initial_prompt", "carry_initial_prompt"} & set(model.options)


def test_a_doubtful_prompted_segment_is_dropped() -> None:
    """Words Whisper doubts are speech go when a prompt could have put them there."""
    doubtful = FakeSegment("Zentra", no_speech_prob=0.55, avg_logprob=-0.9)
    engine, _ = faster_engine(doubtful)
    assert engine.transcribe(speech_like(), vocabulary=TERMS).text == ""


def test_the_same_segment_without_a_prompt_follows_the_general_guards() -> None:
    """The stricter no-speech limit applies only to prompted decoding."""
    doubtful = FakeSegment("Zentra", no_speech_prob=0.55, avg_logprob=-0.9)
    engine, _ = faster_engine(doubtful)
    assert engine.transcribe(speech_like()).text == "Zentra"


def test_silence_never_reaches_the_decoder_with_a_vocabulary() -> None:
    """The energy gate still answers "" for silence before any prompt is used."""
    engine, model = faster_engine(FakeSegment("prescription", 0.1))
    silence = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    assert engine.transcribe(silence, vocabulary=TERMS).text == ""
    assert model.options == {}
