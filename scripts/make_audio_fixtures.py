"""Generate the phone-quality audio fixtures under tests/fixtures/audio.

Speech is synthesised with flite (Debian package ``flite``: its slt, rms, awb and kal16
voices; espeak-ng's voices made tiny.en hear "my rent is due" as "my friend did you", and
no mbrola voices are packaged here), band-limited to the telephone band (300-3400 Hz), resampled to
8 kHz, padded with pauses, mixed with light seeded hiss and stored as mono mu-law WAV, the
way Twilio hands recordings over. Also needs the ffmpeg binary from imageio-ffmpeg. The
output is byte-for-byte reproducible; the tests only need the committed files.

Usage (from the repo root)::

    .venv/bin/python scripts/make_audio_fixtures.py
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "audio"
PHONE_RATE = 8000
BAND_HZ = (300.0, 3400.0)
NOISE_DBFS = -42.0  # light line hiss: audible, well below speech at about -16 dBFS
SPEECH_PEAK = 0.7
SEED = 20261123


@dataclass(frozen=True)
class Clip:
    """One synthetic survey comment."""

    name: str
    voice: str
    text: str


CLIPS = (
    Clip(
        "anxious",
        "awb",
        "I'm really worried, I was charged twice and my rent is due on Friday. "
        "I don't have enough money left in the account, please call me back as soon as you can.",
    ),
    Clip(
        "angry",
        "rms",
        "This is the third time I have called about the same problem and nobody has "
        "fixed it. I am very angry and I want to speak to a manager today.",
    ),
    Clip(
        "happy",
        "slt",
        "The agent was wonderful and solved my problem quickly. Thank you so much, "
        "I am very happy with the service and I will recommend you to my friends.",
    ),
    Clip(
        "opt_out",
        "rms",
        "Please stop calling me and take me off your list. I do not want any more of "
        "these surveys and I do not want anyone to call me again.",
    ),
    Clip(
        "call_me",
        "kal16",
        "Can someone call me back this afternoon? I still have a question about my bill "
        "and the website did not answer it.",
    ),
    Clip(
        "neutral",
        "slt",
        "The call was fine. The wait was a little long, but the agent answered my question "
        "and I have nothing else to add.",
    ),
    Clip(
        "delivery",
        "awb",
        "My package never arrived and the tracking page has not changed for a week. "
        "I would like a refund, please, or a new package sent to my house.",
    ),
    Clip(
        "cancel",
        "slt",
        "I want to cancel my account because the price went up again and I cannot "
        "afford it anymore. Please tell me how to close it without paying a fee.",
    ),
)
MP3_SOURCE = "call_me"


def synthesise(clip: Clip) -> tuple[np.ndarray, int]:
    """Speak ``clip.text`` with flite and return float samples and their rate."""
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "speech.wav"
        subprocess.run(
            ["flite", "-voice", clip.voice, "-t", clip.text, "-o", str(target)], check=True
        )
        with wave.open(str(target)) as reader:
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0, rate


def to_phone_band(samples: np.ndarray, rate: int) -> np.ndarray:
    """Band-limit to 300-3400 Hz and resample to 8 kHz in one FFT step."""
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(len(samples), d=1.0 / rate)
    spectrum[(freqs < BAND_HZ[0]) | (freqs > BAND_HZ[1])] = 0.0
    out_len = round(len(samples) * PHONE_RATE / rate)
    kept = spectrum[: out_len // 2 + 1]
    return np.fft.irfft(kept, out_len) * (out_len / len(samples))


def add_line_noise(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normalise the speech, pad it with pauses and add quiet hiss, like a phone line."""
    speech = samples * (SPEECH_PEAK / max(float(np.max(np.abs(samples))), 1e-9))
    # Callers pause after the beep and before hanging up.
    speech = np.concatenate([np.zeros(int(0.6 * PHONE_RATE)), speech, np.zeros(PHONE_RATE)])
    hiss = rng.normal(0.0, 10 ** (NOISE_DBFS / 20), len(speech))
    return np.clip(speech + hiss, -1.0, 1.0)


def write_mulaw(samples: np.ndarray, path: Path) -> None:
    """Encode float samples at 8 kHz as a mono mu-law WAV, as Twilio sends."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    source = ["-f", "s16le", "-ar", str(PHONE_RATE), "-ac", "1", "-i", "pipe:0"]
    run_ffmpeg([*source, "-c:a", "pcm_mulaw", str(path)], stdin=pcm)


def run_ffmpeg(arguments: list[str], stdin: bytes | None = None) -> None:
    """Run imageio-ffmpeg's binary quietly, without metadata that varies between runs."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error"]
    output = arguments[-1]
    command += [*arguments[:-1], "-bitexact", "-map_metadata", "-1", output]
    subprocess.run(command, input=stdin, check=True)


def make_speech(rng: np.random.Generator) -> dict[str, str]:
    """Write every speech clip and return the expected transcript of each file."""
    expected: dict[str, str] = {}
    for clip in CLIPS:
        samples, rate = synthesise(clip)
        write_mulaw(add_line_noise(to_phone_band(samples, rate), rng), OUT_DIR / f"{clip.name}.wav")
        expected[f"{clip.name}.wav"] = clip.text
    source = next(clip for clip in CLIPS if clip.name == MP3_SOURCE)
    mp3 = OUT_DIR / f"{source.name}.mp3"
    run_ffmpeg(
        ["-i", str(OUT_DIR / f"{source.name}.wav"), "-c:a", "libmp3lame", "-b:a", "24k", str(mp3)]
    )
    expected[f"{source.name}.mp3"] = source.text
    return expected


def make_non_speech(rng: np.random.Generator) -> None:
    """Write the clips that must transcribe to nothing, plus a corrupt file."""
    seconds = 5 * PHONE_RATE
    write_mulaw(rng.normal(0.0, 10 ** (-60 / 20), seconds), OUT_DIR / "silence.wav")
    t = np.arange(seconds) / PHONE_RATE
    hum = 0.05 * np.sin(2 * np.pi * 60 * t) + 0.03 * np.sin(2 * np.pi * 180 * t)
    write_mulaw(hum + rng.normal(0.0, 0.08, seconds), OUT_DIR / "noise.wav")
    click = np.zeros(int(0.3 * PHONE_RATE))
    click[1000:1040] = np.hanning(40) * 0.8
    write_mulaw(click, OUT_DIR / "short.wav")
    # RIFF-looking header followed by random bytes: what a truncated upload looks like.
    garbage = b"RIFF\x24\x10\x00\x00WAVEjunk" + rng.bytes(2048)
    (OUT_DIR / "corrupt.wav").write_bytes(garbage)


def main() -> None:
    """Regenerate every fixture and expected.json."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    expected = make_speech(rng)
    make_non_speech(rng)
    manifest = {
        "speech": expected,
        "empty": ["silence.wav", "noise.wav", "short.wav"],
        "corrupt": ["corrupt.wav"],
    }
    (OUT_DIR / "expected.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(path.stat().st_size for path in OUT_DIR.iterdir())
    print(f"wrote {len(list(OUT_DIR.iterdir()))} files, {total / 1024:.0f} KiB, to {OUT_DIR}")


if __name__ == "__main__":
    main()
