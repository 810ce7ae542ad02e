"""Decoding recordings: formats, resampling and every way a file can be refused."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from transcription.audio import TARGET_RATE, AudioError, decode_to_pcm16k, ensure_ffmpeg


def _write_pcm_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return path


def _dominant_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.fft.rfftfreq(audio.size, 1 / TARGET_RATE)[np.argmax(spectrum)])


def test_ensure_ffmpeg_puts_a_working_ffmpeg_on_path() -> None:
    """ensure_ffmpeg is idempotent and leaves `ffmpeg` findable on PATH."""
    first = ensure_ffmpeg()
    assert ensure_ffmpeg() == first
    assert shutil.which("ffmpeg") == first


def test_mulaw_wav_decodes_to_16k_mono_float(audio_dir: Path) -> None:
    """A Twilio-style 8 kHz mu-law WAV comes out as float32 16 kHz samples in [-1, 1]."""
    audio = decode_to_pcm16k(audio_dir / "anxious.wav")
    with (audio_dir / "anxious.wav").open("rb") as handle:
        assert handle.read(4) == b"RIFF"
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert 10.5 < audio.size / TARGET_RATE < 11.5
    assert 0.3 < float(np.max(np.abs(audio))) <= 1.0


def test_mp3_decodes_to_the_same_length_as_its_wav(audio_dir: Path) -> None:
    """The MP3 copy of a clip decodes, within encoder padding of the WAV's length."""
    mp3 = decode_to_pcm16k(audio_dir / "call_me.mp3")
    wav = decode_to_pcm16k(audio_dir / "call_me.wav")
    assert mp3.dtype == np.float32
    assert abs(mp3.size - wav.size) / TARGET_RATE < 0.1
    assert float(np.sqrt(np.mean(mp3**2))) > 0.05


def test_stereo_44k_pcm_is_downmixed_and_resampled(tmp_path: Path) -> None:
    """A 44.1 kHz stereo tone keeps its length and pitch after resampling to 16 kHz."""
    t = np.arange(44_100 * 2) / 44_100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = _write_pcm_wav(tmp_path / "tone.wav", np.repeat(tone, 2), 44_100, channels=2)
    audio = decode_to_pcm16k(path)
    assert audio.size == 2 * TARGET_RATE
    assert abs(_dominant_hz(audio) - 440) < 2
    assert 0.45 < float(np.max(np.abs(audio))) < 0.55


def test_corrupt_wav_is_refused_with_a_reason(audio_dir: Path) -> None:
    """Garbage behind a RIFF header raises AudioError saying the file is damaged."""
    with pytest.raises(AudioError) as caught:
        decode_to_pcm16k(audio_dir / "corrupt.wav")
    assert caught.value.reason == "recording is a damaged WAV file: its header is incomplete"


def test_file_that_is_neither_wav_nor_mp3_is_refused(tmp_path: Path) -> None:
    """A file with an audio name but text inside is refused by content, not by name."""
    path = tmp_path / "recording.mp3"
    path.write_text("<html>404 not found</html>")
    with pytest.raises(AudioError, match="not a WAV or MP3 file"):
        decode_to_pcm16k(path)


def test_overlong_recording_is_refused(audio_dir: Path) -> None:
    """A WAV longer than max_seconds is refused, naming its length and the limit."""
    with pytest.raises(AudioError) as caught:
        decode_to_pcm16k(audio_dir / "anxious.wav", max_seconds=5)
    assert caught.value.reason == "recording is 11 s long, limit is 5 s"


def test_overlong_mp3_is_refused_without_decoding_it_all(audio_dir: Path) -> None:
    """An MP3 past the limit is refused from a capped decode."""
    with pytest.raises(AudioError, match=r"longer than the limit of 3 s"):
        decode_to_pcm16k(audio_dir / "call_me.mp3", max_seconds=3)


def test_oversized_file_is_refused_before_decoding(audio_dir: Path) -> None:
    """A file over max_bytes is refused with both sizes in the reason."""
    with pytest.raises(AudioError) as caught:
        decode_to_pcm16k(audio_dir / "angry.wav", max_bytes=10_000)
    assert caught.value.reason == "recording is 87 kB, limit is 10 kB"


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    """An upload with no bytes is refused as empty."""
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        decode_to_pcm16k(path)


def test_wav_without_samples_is_empty(tmp_path: Path) -> None:
    """A well-formed WAV holding no frames is refused as empty."""
    path = _write_pcm_wav(tmp_path / "none.wav", np.zeros(0), 8000)
    with pytest.raises(AudioError, match="contains no audio"):
        decode_to_pcm16k(path)


@pytest.mark.parametrize("name", ["gone.wav", "", "."])
def test_missing_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A missing path, an empty path or a folder gives AudioError, not OSError."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AudioError, match="was not found"):
        decode_to_pcm16k(name)
