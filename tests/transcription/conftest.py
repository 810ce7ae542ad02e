"""Shared fixtures for the transcription engine tests: the audio fixtures and, loaded once
per test session, the two engines and their transcripts of every clip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from transcription.audio import decode_to_pcm16k
from transcription.engines import Engine, EngineSettings, Transcript, get_engine

AUDIO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "audio"


@pytest.fixture(scope="session")
def audio_dir() -> Path:
    return AUDIO_DIR


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    return json.loads((AUDIO_DIR / "expected.json").read_text())


@pytest.fixture(scope="session")
def clips(manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every decodable fixture, decoded once."""
    names = [*manifest["speech"], *manifest["empty"]]
    return {name: decode_to_pcm16k(AUDIO_DIR / name) for name in names}


@pytest.fixture(scope="session")
def whisper_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where converted checkpoints go during the tests; never inside the repo."""
    return tmp_path_factory.mktemp("whisper-cache")


@pytest.fixture(scope="session")
def faster_engine() -> Engine:
    return get_engine(EngineSettings())


@pytest.fixture(scope="session")
def openai_settings(whisper_cache: Path) -> EngineSettings:
    return EngineSettings(engine="openai-whisper", cache_dir=str(whisper_cache))


@pytest.fixture(scope="session")
def openai_engine(openai_settings: EngineSettings) -> Engine:
    """Converts the bundled model into the cache on first use, then loads it."""
    return get_engine(openai_settings)


def _transcribe_all(engine: Engine, clips: dict[str, np.ndarray]) -> dict[str, Transcript]:
    return {name: engine.transcribe(audio) for name, audio in clips.items()}


@pytest.fixture(scope="session")
def faster_transcripts(
    faster_engine: Engine, clips: dict[str, np.ndarray]
) -> dict[str, Transcript]:
    return _transcribe_all(faster_engine, clips)


@pytest.fixture(scope="session")
def openai_transcripts(
    openai_engine: Engine, clips: dict[str, np.ndarray]
) -> dict[str, Transcript]:
    return _transcribe_all(openai_engine, clips)
