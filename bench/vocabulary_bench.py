"""Does giving Whisper the survey's vocabulary help it hear the words that matter?

Run from the repo root::

    .venv/bin/python bench/vocabulary_bench.py [--engine openai-whisper]

Every clip is transcribed twice by the same loaded engine, in the same run: without a
vocabulary (the baseline) and with the vocabulary a survey would list (the shipped default
``WHISPER_VOCABULARY`` plus the two product names the clips mention). The clips are
``bench/clips`` (``scripts/make_vocabulary_clips.py``): 12 comments containing the key terms
in ordinary sentences, each said by 4 voices at 2 speeds, in the phone band. Also:

- the audio fixtures of ``tests/fixtures/audio`` (comments that name none of the terms), to
  show the vocabulary does not cost accuracy elsewhere;
- the non-speech clips (keypad tones, rustle, breathing, crackle, silence, hum, a click),
  which must still give an empty transcript with the vocabulary: a prompted Whisper is
  known to read its prompt into noise.

Figures: WER (normalised as in ``transcription.metrics``), recall of the key terms (each
occurrence in a reference counts once; a two-word term must be heard whole), and the real
time factor. Goals, printed as PASS/FAIL: WER no worse on both sets, key-term recall up,
every non-speech clip empty.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import DEFAULT_VOCABULARY  # noqa: E402
from transcription.audio import decode_to_pcm16k  # noqa: E402
from transcription.engines import SAMPLE_RATE, EngineSettings, get_engine  # noqa: E402
from transcription.metrics import normalize_text, word_errors  # noqa: E402
from transcription.vocabulary import normalise  # noqa: E402

CLIPS = ROOT / "bench" / "clips"
FIXTURES = ROOT / "tests" / "fixtures" / "audio"
EXAMPLE = "prescription"  # every voice and speed of this sentence is printed


@dataclass
class Tally:
    """Word errors and key-term hits over a set of clips, for one way of decoding."""

    errors: int = 0
    words: int = 0
    heard: int = 0
    terms: int = 0
    seconds: float = 0.0
    audio_seconds: float = 0.0
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def wer(self) -> float:
        return self.errors / max(1, self.words)

    @property
    def recall(self) -> float:
        return self.heard / max(1, self.terms)

    @property
    def rtf(self) -> float:
        return self.seconds / max(1e-9, self.audio_seconds)


def occurrences(term: str, words: list[str]) -> int:
    """How many times a (possibly multi-word) term appears in a word list."""
    wanted = normalize_text(term)
    size = len(wanted)
    return sum(words[i : i + size] == wanted for i in range(len(words) - size + 1))


def heard_terms(reference: str, terms: list[str], hypothesis: str) -> tuple[int, int]:
    """Key-term occurrences heard, and said, in one clip."""
    said_words, heard_words = normalize_text(reference), normalize_text(hypothesis)
    said = [occurrences(term, said_words) for term in terms]
    heard = sum(min(n, occurrences(t, heard_words)) for t, n in zip(terms, said, strict=True))
    return heard, sum(said)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="faster-whisper")
    args = parser.parse_args()
    manifest = json.loads((CLIPS / "vocabulary.json").read_text())
    fixtures = json.loads((FIXTURES / "expected.json").read_text())
    terms = normalise(f"{DEFAULT_VOCABULARY}, {manifest['survey_terms']}")
    engine = get_engine(EngineSettings(engine=args.engine))
    print(f"engine {args.engine} (tiny.en), vocabulary: {terms}\n")

    speech = {name: (CLIPS / name, entry) for name, entry in manifest["speech"].items()}
    control = {
        name: (FIXTURES / name, {"text": text, "terms": []})
        for name, text in fixtures["speech"].items()
        if name.endswith(".wav")
    }
    ways = {"without": None, "with": terms}
    results: dict[str, dict[str, Tally]] = defaultdict(lambda: {w: Tally() for w in ways})
    per_term: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for group, clips in (("key-term clips", speech), ("other comments", control)):
        for name, (path, entry) in clips.items():
            audio = decode_to_pcm16k(path)
            buckets = [group]
            if group == "key-term clips":
                buckets += [f"  voice {entry['voice']}", f"  speed {entry['speed']}"]
            for way, vocabulary in ways.items():
                started = time.perf_counter()
                text = engine.transcribe(audio, vocabulary=vocabulary).text
                elapsed = time.perf_counter() - started
                errors, words = word_errors(entry["text"], text)
                heard, said = heard_terms(entry["text"], entry["terms"], text)
                for term in entry["terms"]:
                    term_heard, term_said = heard_terms(entry["text"], [term], text)
                    per_term[term][way] += term_heard
                    if way == "without":
                        per_term[term]["said"] += term_said
                for bucket in buckets:
                    tally = results[bucket][way]
                    tally.errors += errors
                    tally.words += words
                    tally.heard += heard
                    tally.terms += said
                    tally.seconds += elapsed
                    tally.audio_seconds += audio.size / SAMPLE_RATE
                    tally.texts[name] = text

    voices = dict.fromkeys(f"  voice {e['voice']}" for e in manifest["speech"].values())
    speeds = dict.fromkeys(f"  speed {e['speed']}" for e in manifest["speech"].values())
    order = ["key-term clips", *voices, *speeds, "other comments"]
    header = f"{'clips':<16}{'n':>4}  {'WER without':>11}{'with':>7}"
    header += f"  {'recall without':>14}{'with':>7}  {'RTF without':>11}{'with':>6}"
    print(header)
    print("-" * len(header))
    for bucket, tallies in sorted(results.items(), key=lambda item: order.index(item[0])):
        base, new = tallies["without"], tallies["with"]
        recall = f"{base.recall:>14.2f}{new.recall:>7.2f}" if base.terms else f"{'-':>14}{'-':>7}"
        print(
            f"{bucket:<16}{len(base.texts):>4}  {base.wer:>11.3f}{new.wer:>7.3f}  {recall}"
            f"  {base.rtf:>11.2f}{new.rtf:>6.2f}"
        )
    keyed, other = results["key-term clips"], results["other comments"]
    print(
        f"\nkey terms heard: {keyed['without'].heard}/{keyed['without'].terms} without, "
        f"{keyed['with'].heard}/{keyed['with'].terms} with the vocabulary"
    )
    print(
        "  "
        + ", ".join(f"{t} {n['without']}->{n['with']}/{n['said']}" for t, n in per_term.items())
    )
    example = [name for name in speech if name.startswith(f"{EXAMPLE}-")]
    if example:
        print(f'\n"{speech[example[0]][1]["text"]}"')
        for name in example:
            print(f"  {name}")
            for way in ways:
                print(f"    {way + ':':<9}{keyed[way].texts[name]}")

    empty = [CLIPS / name for name in manifest["empty"]]
    empty += [FIXTURES / name for name in fixtures["empty"]]
    spoken = {
        path.name: text
        for path in empty
        if (text := engine.transcribe(decode_to_pcm16k(path), vocabulary=terms).text)
    }
    print(f"\nnon-speech clips with the vocabulary: {len(empty) - len(spoken)}/{len(empty)} empty")
    for name, text in spoken.items():
        print(f"  {name}: {text!r}")

    goals = [
        (
            keyed["with"].wer <= keyed["without"].wer,
            f"key-term clips: WER with {keyed['with'].wer:.3f} <= without "
            f"{keyed['without'].wer:.3f}",
        ),
        (
            other["with"].wer <= other["without"].wer,
            f"other comments: WER with {other['with'].wer:.3f} <= without "
            f"{other['without'].wer:.3f}",
        ),
        (
            keyed["with"].recall > keyed["without"].recall,
            f"key-term recall with {keyed['with'].recall:.2f} > without "
            f"{keyed['without'].recall:.2f}",
        ),
        (not spoken, f"non-speech clips empty with the vocabulary: {len(empty) - len(spoken)}"),
    ]
    print()
    for ok, text in goals:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
