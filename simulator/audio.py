"""Small WAV helpers: duration, truncation, a tone for tests, MP3 conversion."""

from __future__ import annotations

import io
import math
import struct
import subprocess
import wave


def _riff_chunks(wav: bytes) -> dict[bytes, tuple[int, int]]:
    """Chunk id -> (offset of its data, size), for any WAV encoding (PCM, mu-law, ...)."""
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    chunks: dict[bytes, tuple[int, int]] = {}
    pos = 12
    while pos + 8 <= len(wav):
        chunk_id, size = wav[pos : pos + 4], struct.unpack("<I", wav[pos + 4 : pos + 8])[0]
        chunks.setdefault(chunk_id, (pos + 8, min(size, len(wav) - pos - 8)))
        pos += 8 + size + (size & 1)
    return chunks


def wav_seconds(wav: bytes) -> float:
    """Return the length of a WAV file in seconds (Python's wave module reads only PCM).

    Unreadable audio counts as 0 s: the fake stores it as given, so tests can hand the
    app a corrupt recording.
    """
    try:
        chunks = _riff_chunks(wav)
    except ValueError:
        return 0.0
    if b"fmt " not in chunks or b"data" not in chunks:
        return 0.0
    fmt_at, _ = chunks[b"fmt "]
    byte_rate = struct.unpack("<I", wav[fmt_at + 8 : fmt_at + 12])[0]
    return chunks[b"data"][1] / byte_rate if byte_rate else 0.0


def truncate_wav(wav: bytes, seconds: float) -> bytes:
    """Cut a WAV to at most ``seconds`` (``<Record maxLength>`` stops the recording)."""
    if wav_seconds(wav) <= seconds:
        return wav
    with wave.open(io.BytesIO(wav), "rb") as reader:
        params = reader.getparams()
        keep = min(reader.getnframes(), int(seconds * reader.getframerate()))
        frames = reader.readframes(keep)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setparams(params)
        writer.writeframes(frames)
    return out.getvalue()


def tone_wav(seconds: float = 1.0, rate: int = 8000, freq: float = 440.0) -> bytes:
    """Make a mono 16-bit sine-tone WAV, as a stand-in for a caller's voice."""
    count = int(seconds * rate)
    samples = (int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(count))
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return out.getvalue()


def wav_to_mp3(wav: bytes) -> bytes:
    """Convert WAV to MP3 with the ffmpeg binary bundled by imageio-ffmpeg.

    Raises:
        RuntimeError: if ffmpeg fails.
    """
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    proc = subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-i", "pipe:0", "-f", "mp3", "pipe:1"],
        input=wav,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.decode(errors='replace')[:500]}")
    return proc.stdout
