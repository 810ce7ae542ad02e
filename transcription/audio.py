"""Decode caller recordings into the 16 kHz mono float samples Whisper expects.

Recordings arrive as WAV (Twilio sends 8 kHz mono, often mu-law) or MP3. Decoding goes
through pydub with imageio-ffmpeg's bundled ffmpeg binary, so no system ffmpeg is needed.
Every way a file can be unusable ends in :class:`AudioError` with a reason a person can read.
"""

from __future__ import annotations

import atexit
import os
import shutil
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TARGET_RATE = 16_000

_FFMPEG_LOCK = threading.Lock()
_ffmpeg_path: str | None = None

# WAV format tags that ffmpeg must decode; plain integer PCM (tag 1) pydub reads itself.
_WAV_CODECS = {1: None, 3: "pcm_f32le", 6: "pcm_alaw", 7: "pcm_mulaw"}
_WAV_EXTENSIBLE = 0xFFFE
# Decode at most this far past the length limit: enough to tell "too long" apart.
_DECODE_MARGIN_S = 1.0


class AudioError(Exception):
    """A recording that cannot be transcribed.

    Attributes:
        reason: One sentence a manager can read, e.g. "recording is 412 s long, limit is 300 s".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Container:
    """What the first bytes of a file say about how to decode it."""

    format: str
    codec: str | None
    seconds: float | None = None


def ensure_ffmpeg() -> str:
    """Put imageio-ffmpeg's binary on PATH under the name ``ffmpeg`` for pydub.

    pydub looks ``ffmpeg`` up on PATH when it is first imported and warns if it is missing,
    so this must run before ``import pydub``. The link lives in a private temporary folder
    prepended to PATH; calling again is cheap and changes nothing.

    Returns:
        The path of the ``ffmpeg`` link.
    """
    global _ffmpeg_path
    with _FFMPEG_LOCK:
        if _ffmpeg_path is None or not Path(_ffmpeg_path).exists():
            _ffmpeg_path = _link_ffmpeg()
        folder = str(Path(_ffmpeg_path).parent)
        if folder not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([folder, os.environ.get("PATH", "")])
        return _ffmpeg_path


def _link_ffmpeg() -> str:
    """Create ``<private dir>/ffmpeg`` pointing at imageio-ffmpeg's binary."""
    import imageio_ffmpeg

    folder = Path(tempfile.mkdtemp(prefix="transcription-ffmpeg-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    link = folder / "ffmpeg"
    link.symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    return str(link)


def decode_to_pcm16k(
    path: str | Path, *, max_seconds: float = 300.0, max_bytes: int = 20_000_000
) -> np.ndarray:
    """Decode a WAV or MP3 recording to float32 mono 16 kHz samples in [-1, 1].

    Args:
        path: The recording on disk.
        max_seconds: Longest recording accepted, in seconds.
        max_bytes: Largest file accepted, in bytes; checked before anything is decoded.

    Returns:
        A one-dimensional float32 array sampled at 16 kHz.

    Raises:
        AudioError: The file is missing, too big, too long, empty or cannot be decoded.
    """
    path = Path(path)
    _check_size(path, max_bytes)
    container = _sniff(path)
    if container.seconds is not None:
        _check_length(container.seconds, max_seconds)
    samples, rate = _decode(path, container, max_seconds)
    if samples.size == 0:
        raise AudioError("recording is empty: it contains no audio")
    seconds = samples.size / rate
    _check_length(seconds, max_seconds, truncated=seconds >= max_seconds + _DECODE_MARGIN_S)
    return _resample(samples, rate, TARGET_RATE)


def _check_size(path: Path, max_bytes: int) -> None:
    """Reject missing, empty and oversized files before reading them."""
    try:
        size = path.stat().st_size if path.is_file() else -1
    except OSError:
        size = -1
    if size < 0:
        raise AudioError(f"recording file {path.name or path} was not found")
    if size == 0:
        raise AudioError("recording is empty: the file has no bytes")
    if size > max_bytes:
        raise AudioError(f"recording is {_human_bytes(size)}, limit is {_human_bytes(max_bytes)}")


def _human_bytes(size: int) -> str:
    """Format a byte count the way a person would say it."""
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} MB"
    if size >= 1_000:
        return f"{size / 1e3:.0f} kB"
    return f"{size} bytes"


def _check_length(seconds: float, max_seconds: float, *, truncated: bool = False) -> None:
    """Reject recordings longer than the limit.

    Args:
        seconds: Length found.
        max_seconds: The limit.
        truncated: Decoding stopped at the cap, so the true length is only a lower bound.
    """
    if seconds > max_seconds and truncated:
        raise AudioError(f"recording is longer than the limit of {max_seconds:.0f} s")
    if seconds > max_seconds:
        raise AudioError(f"recording is {seconds:.0f} s long, limit is {max_seconds:.0f} s")


def _sniff(path: Path) -> _Container:
    """Tell WAV from MP3 by content, since callers' file names cannot be trusted."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _sniff_wav(head)
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return _Container("mp3", "mp3")
    raise AudioError("recording is not a WAV or MP3 file, so it cannot be decoded")


def _sniff_wav(head: bytes) -> _Container:
    """Read the WAV chunks far enough to learn the encoding and the length."""
    offset, tag, byte_rate, data_size = 12, None, 0, None
    while offset + 8 <= len(head):
        chunk_id, chunk_size = struct.unpack_from("<4sI", head, offset)
        if chunk_id == b"fmt " and offset + 24 <= len(head):
            tag, _, _, byte_rate = struct.unpack_from("<HHII", head, offset + 8)
            if tag == _WAV_EXTENSIBLE and offset + 34 <= len(head):
                (tag,) = struct.unpack_from("<H", head, offset + 32)
        elif chunk_id == b"data":
            data_size = chunk_size
            break
        offset += 8 + chunk_size + (chunk_size & 1)
    if tag is None or data_size is None or byte_rate == 0:
        raise AudioError("recording is a damaged WAV file: its header is incomplete")
    if tag not in _WAV_CODECS:
        raise AudioError(f"recording uses a WAV encoding this system cannot read (tag {tag})")
    return _Container("wav", _WAV_CODECS[tag], data_size / byte_rate)


def _decode(path: Path, container: _Container, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode through pydub and return float samples averaged to mono, and their rate."""
    ensure_ffmpeg()
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    try:
        # Cap decoding just past the limit so an hour-long MP3 cannot fill memory.
        segment = AudioSegment.from_file(
            str(path),
            format=container.format,
            codec=container.codec,
            duration=max_seconds + _DECODE_MARGIN_S,
        )
    except (CouldntDecodeError, IndexError, ValueError, struct.error, EOFError) as error:
        raise AudioError(
            f"recording could not be decoded: the {container.format.upper()} data is damaged"
        ) from error
    channels = np.array(segment.get_array_of_samples(), dtype=np.float32)
    channels = channels.reshape(-1, segment.channels)
    full_scale = float(1 << (8 * segment.sample_width - 1))
    return channels.mean(axis=1) / full_scale, segment.frame_rate


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample by zero-padding or truncating the spectrum (an ideal low-pass filter)."""
    if rate == target:
        return np.clip(samples, -1.0, 1.0).astype(np.float32)
    out_len = round(samples.size * target / rate)
    spectrum = np.fft.rfft(samples.astype(np.float64))
    resampled = np.fft.irfft(spectrum[: out_len // 2 + 1], out_len) * (out_len / samples.size)
    return np.clip(resampled, -1.0, 1.0).astype(np.float32)
