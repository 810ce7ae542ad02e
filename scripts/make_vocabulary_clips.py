"""Generate the phone-band clips of the speech-vocabulary benchmark under bench/clips.

Survey comments that carry the words a callback turns on ("my mother's prescription", "the
engineer never came", product names), each spoken by four flite voices (slt, rms, awb,
kal16: a US woman, two US men, a Scottish man) at two speeds (as written, and 25 % faster),
then squeezed into the phone band exactly as the audio fixtures are
(``scripts/make_audio_fixtures.py``: 300-3400 Hz, 8 kHz mu-law, pauses and light hiss).
Plus non-speech clips loud enough to pass the energy gate (keypad tones, rustle, crackle),
on which a prompted Whisper could read its prompt back.

The sentences were written before any measurement. ``--tune DIR`` writes a separate, smaller
set (other sentences, two voices) used to choose how the vocabulary is put to Whisper; the
benchmark never sees it. Needs ``flite`` (Debian package) and imageio-ffmpeg's binary; the
output is reproducible and the benchmark only needs the committed files.

Usage (from the repo root)::

    .venv/bin/python scripts/make_vocabulary_clips.py
    .venv/bin/python scripts/make_vocabulary_clips.py --tune /tmp/vocabulary-tune
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from make_audio_fixtures import PHONE_RATE, add_line_noise, to_phone_band, write_mulaw

OUT_DIR = Path(__file__).resolve().parent.parent / "bench" / "clips"
SEED = 20261127
VOICES = ("slt", "rms", "awb", "kal16")
SPEEDS = {"normal": 1.0, "fast": 0.8}  # flite's duration_stretch: 0.8 speaks 25 % faster
# What the benchmark's survey lists: the shipped default (core.config WHISPER_VOCABULARY)
# plus the product names a survey adds in the editor.
SURVEY_TERMS = "FibreMax, Zentra"

# (name, sentence, the key terms in it). A term may be two words ("direct debit").
SENTENCES = (
    (
        "prescription",
        "I rang last week about my mother's prescription and the pharmacy still hasn't got it.",
        ("prescription", "pharmacy"),
    ),
    (
        "refund",
        "They promised me a refund a month ago and I still haven't seen the money.",
        ("refund",),
    ),
    ("bill", "My bill has gone up again and nobody could tell me why.", ("bill",)),
    (
        "engineer",
        "The engineer never turned up, so I wasted a whole day waiting at home.",
        ("engineer",),
    ),
    (
        "router",
        "Since the upgrade my FibreMax router drops the connection every evening.",
        ("FibreMax", "router"),
    ),
    (
        "subscription",
        "I cancelled the Zentra subscription but you charged my card again.",
        ("Zentra",),
    ),
    ("saturday", "Could the engineer come on a Saturday? I work all week.", ("engineer",)),
    (
        "repeat",
        "I need my repeat prescription before Friday or I will run out of tablets.",
        ("prescription",),
    ),
    (
        "debit",
        "The direct debit was taken twice, so this month's bill is wrong.",
        ("direct debit", "bill"),
    ),
    (
        "invoice",
        "Please email me the invoice, because the one in the post never arrived.",
        ("invoice",),
    ),
    (
        "overcharged",
        "I was overcharged on my broadband and I want a refund for the difference.",
        ("overcharged", "broadband", "refund"),
    ),
    (
        "appointment",
        "The agent booked an appointment with an engineer, which was very helpful.",
        ("appointment", "engineer"),
    ),
)
TUNE_SENTENCES = (
    ("t_pharmacy", "My prescription was sent to the wrong pharmacy again.", ("prescription",)),
    ("t_refund", "I'm still waiting for the refund on my Zentra order.", ("refund", "Zentra")),
    ("t_bill", "The bill says I owe forty pounds but I paid it in full.", ("bill",)),
    (
        "t_engineer",
        "The engineer fixed the FibreMax box but the broadband is still slow.",
        ("engineer", "FibreMax", "broadband"),
    ),
    ("t_invoice", "Can you send a copy of the invoice for my records?", ("invoice",)),
    ("t_debit", "I want to know why the direct debit went out early.", ("direct debit",)),
)
TUNE_VOICES = ("slt", "awb")


def synthesise(text: str, voice: str, stretch: float) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a flite voice at a speed and return float samples and their rate."""
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "speech.wav"
        command = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
        subprocess.run([*command, "-t", text, "-o", str(target)], check=True)
        with wave.open(str(target)) as reader:
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0, rate


def make_speech(
    out: Path,
    sentences: tuple[tuple[str, str, tuple[str, ...]], ...],
    voices: tuple[str, ...],
    rng: np.random.Generator,
) -> dict[str, dict[str, object]]:
    """Write every sentence in every voice and speed; returns the manifest entries."""
    entries: dict[str, dict[str, object]] = {}
    for name, text, terms in sentences:
        for voice in voices:
            for speed, stretch in SPEEDS.items():
                samples, rate = synthesise(text, voice, stretch)
                file = f"{name}-{voice}-{speed}.wav"
                write_mulaw(add_line_noise(to_phone_band(samples, rate), rng), out / file)
                entries[file] = {"text": text, "terms": list(terms), "voice": voice, "speed": speed}
    return entries


KEYS = {
    **{str(d): (697 + 73 * ((d - 1) // 3), 1209 + 127 * ((d - 1) % 3)) for d in range(1, 10)},
    "*": (941, 1209),
    "0": (941, 1336),
    "#": (941, 1477),
}


def keypad(rng: np.random.Generator) -> np.ndarray:
    """A caller pressing a few keys instead of talking: DTMF tones with uneven gaps."""
    parts = [np.zeros(int(rng.uniform(0.3, 1.5) * PHONE_RATE))]
    for key in rng.choice(list(KEYS), int(rng.integers(1, 6))):
        low, high = KEYS[str(key)]
        t = np.arange(int(rng.uniform(0.08, 0.3) * PHONE_RATE)) / PHONE_RATE
        parts.append(0.25 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)))
        parts.append(np.zeros(int(rng.uniform(0.05, 0.6) * PHONE_RATE)))
    return np.concatenate([*parts, np.zeros(PHONE_RATE)])


def rustle(rng: np.random.Generator) -> np.ndarray:
    """The handset rubbing on clothes: bursts of phone-band noise."""
    size = 6 * PHONE_RATE
    out = np.zeros(size)
    for start in rng.integers(0, size - PHONE_RATE, 6):
        length = int(rng.integers(PHONE_RATE // 5, PHONE_RATE // 2))
        out[start : start + length] += rng.normal(0.0, 0.15, length) * np.hanning(length)
    return to_phone_band(out, PHONE_RATE)


def breathing(rng: np.random.Generator) -> np.ndarray:
    """Someone breathing into the phone: soft, low, evenly spaced bursts."""
    size = 6 * PHONE_RATE
    out = np.zeros(size)
    start = int(0.5 * PHONE_RATE)
    while start < size - int(1.2 * PHONE_RATE):
        length = int(rng.uniform(0.6, 1.0) * PHONE_RATE)
        burst = rng.normal(0.0, 0.06, length) * np.hanning(length)
        out[start : start + length] += np.convolve(burst, np.ones(8) / 8, "same")
        start += int(rng.uniform(1.5, 2.2) * PHONE_RATE)
    return to_phone_band(out, PHONE_RATE)


def crackle(rng: np.random.Generator) -> np.ndarray:
    """A bad line: sparse loud clicks."""
    out = np.zeros(6 * PHONE_RATE)
    out[rng.integers(0, out.size, 400)] += rng.normal(0.0, 0.5, 400)
    return out


NON_SPEECH = {"keypad": keypad, "rustle": rustle, "breathing": breathing, "crackle": crackle}
NON_SPEECH_EACH = 4


def make_non_speech(out: Path, rng: np.random.Generator) -> list[str]:
    """Clips with no words, most loud enough to pass the energy gate; returns file names."""
    names = []
    for kind, make in NON_SPEECH.items():
        for index in range(NON_SPEECH_EACH):
            samples = make(rng)
            hiss = rng.normal(0.0, 10 ** (-42 / 20), samples.size)  # as on the speech clips
            names.append(f"{kind}-{index}.wav")
            write_mulaw(np.clip(samples + hiss, -1.0, 1.0), out / names[-1])
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", type=Path, help="write the tuning set here instead")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    out: Path = args.tune or OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    if args.tune:
        speech = make_speech(out, TUNE_SENTENCES, TUNE_VOICES, rng)
        manifest: dict[str, object] = {"survey_terms": SURVEY_TERMS, "speech": speech}
    else:
        speech = make_speech(out, SENTENCES, VOICES, rng)
        empty = make_non_speech(out, rng)
        manifest = {"survey_terms": SURVEY_TERMS, "speech": speech, "empty": empty}
    (out / "vocabulary.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(path.stat().st_size for path in out.iterdir())
    print(f"wrote {len(list(out.iterdir()))} files, {total / 1024:.0f} KiB, to {out}")


if __name__ == "__main__":
    main()
