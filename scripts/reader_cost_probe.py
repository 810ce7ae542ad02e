"""A/B probe of the comment reader's cost in a worker, on training comments only.

``bench/analysis_bench.py`` times the reader on held-out comments; this probe is for
changing the reader's cost without reading them. It times ``analyse_comment`` on comments
from ``data/train`` (long ones, 35-90 words, and short ones) in worker-like processes, one
per variant, each pinned to the same 2 cores and set up as a worker process is (importing
``workers`` first sets its thread settings; ``workers.worker.preload`` loads faster-whisper
and the reader):

* after a decode: a real Whisper decode of a clip (``tests/fixtures/audio/anxious.wav``,
  as the bench decodes, or ``--clips`` from ``bench/clips``), then the timed read;
* back to back: an untimed read of another comment, then the timed read.

The variants take turns comment by comment (the order rotated), so a shared machine's load
falls on all of them alike: compare the ratios, and repeat runs. Each variant is a
``name=SETTING,...`` list: ``env:NAME=VALUE`` sets a variable in its process, ``threads:N``
sets ``ENCODER_THREADS``, ``root:PATH`` imports the project from another checkout (e.g. a
``git worktree`` of the commit before a change). Every variant's labels and phrases are
compared with the first variant's, comment by comment.

    python scripts/reader_cost_probe.py --variants base=threads:2 one=threads:1 \
        --long 60 --short 60 --rounds 2 [--busy 1]

``--busy N`` runs N busy-looping processes on one of the two cores while measuring (a
core taken by another job). Prints p50 / p95 / max per variant, mode and length.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.stats import percentile  # noqa: E402

TRAIN = ROOT / "data" / "train"
CLIP = ROOT / "tests" / "fixtures" / "audio" / "anxious.wav"
CORES = 2
LONG_WORDS = (35, 90)


def training_comments(seed: int, long_count: int, short_count: int) -> dict[str, list[str]]:
    """A seeded sample of the training comments: ``long`` (35-90 words) and ``short``."""
    texts = [
        json.loads(line)["text"]
        for path in sorted(TRAIN.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    low, high = LONG_WORDS
    long = [t for t in texts if low <= len(t.split()) <= high]
    short = [t for t in texts if len(t.split()) < low and t.strip()]
    rng = random.Random(seed)
    return {"long": rng.sample(long, long_count), "short": rng.sample(short, short_count)}


# ---- the child: one variant's worker-like process -------------------------------------


def child(settings: dict[str, str], clips: list[Path]) -> None:
    """Load as a worker does, then answer ``after|b2b TEXT_JSON`` lines with timings."""
    if settings.get("root"):
        sys.path.insert(0, settings["root"])
    else:
        sys.path.insert(0, str(ROOT))
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:CORES])
    import workers  # noqa: F401  (first: it sets numpy's and torch's threads, as in a worker)
    from transcription import embeddings
    from transcription.analysis import analyse_comment
    from transcription.audio import decode_to_pcm16k
    from transcription.engines import EngineSettings, get_engine
    from workers import worker

    if settings.get("threads"):
        embeddings.ENCODER_THREADS = int(settings["threads"])
    worker.preload({})
    engine = get_engine(EngineSettings())
    audios = [decode_to_pcm16k(path) for path in clips]
    print(json.dumps({"ready": True}), flush=True)
    turn = 0
    for line in sys.stdin:
        mode, other, text = json.loads(line)
        if mode == "after":
            engine.transcribe(audios[turn % len(audios)])
            turn += 1
        else:
            analyse_comment(other)
        started = time.perf_counter()
        reading = analyse_comment(text)
        ms = (time.perf_counter() - started) * 1000
        said = {k: [r.phrases, r.spans] for k, r in reading.labels.items() if r.flagged}
        print(json.dumps({"ms": ms, "out": said}), flush=True)


# ---- the parent: variants taking turns ------------------------------------------------


def parse_variant(spec: str) -> tuple[str, dict[str, str], dict[str, str]]:
    name, _, rest = spec.partition("=")
    settings: dict[str, str] = {}
    env: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition(":")
        if key == "env":
            var, _, val = value.partition("=")
            env[var] = val
        elif key in ("threads", "root"):
            settings[key] = value
        else:
            raise SystemExit(f"unknown setting {key!r} in {spec!r}")
    return name, settings, env


def start(spec: str, clips: list[Path]) -> tuple[str, subprocess.Popen[str]]:
    name, settings, env = parse_variant(spec)
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(settings), *map(str, clips)],
        cwd=settings.get("root") or ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )
    return name, process


def ask(process: subprocess.Popen[str], message: list[str]) -> dict:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def busy_loops(count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` processes spinning on the first core: another job holding it."""
    core = sorted(os.sched_getaffinity(0))[0]
    code = f"import os; os.sched_setaffinity(0, [{core}])\nwhile True: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["base=threads:2"])
    parser.add_argument("--long", type=int, default=60, help="long comments sampled")
    parser.add_argument("--short", type=int, default=60, help="short comments sampled")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--modes", nargs="+", default=["after", "b2b"])
    parser.add_argument("--busy", type=int, default=0, help="busy processes on one core")
    parser.add_argument(
        "--gap",
        type=float,
        default=0.05,
        help="seconds between turns (a variant's threads"
        " may spin after its read; the next one should not pay for it)",
    )
    parser.add_argument("--clips", nargs="*", type=Path, default=[CLIP])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child is not None:
        child(json.loads(args.child), [Path(p) for p in rest] or [CLIP])
        return 0

    sets = training_comments(args.seed, args.long, args.short)
    children = [start(spec, args.clips) for spec in args.variants]
    for _, process in children:
        assert process.stdout is not None
        json.loads(process.stdout.readline())
    busy = busy_loops(args.busy)
    times: dict[tuple[str, str, str], list[float]] = {}
    differ: dict[str, int] = {}
    load = [os.getloadavg()[0]]
    try:
        step = 0
        for _ in range(args.rounds):
            for kind, texts in sets.items():
                for i, text in enumerate(texts):
                    other = texts[(i + 1) % len(texts)]
                    for mode in args.modes:
                        step += 1
                        order = children[step % len(children) :] + children[: step % len(children)]
                        outs = {}
                        for name, process in order:
                            time.sleep(args.gap)
                            answer = ask(process, [mode, other, text])
                            times.setdefault((name, kind, mode), []).append(answer["ms"])
                            outs[name] = answer["out"]
                        first = outs[children[0][0]]
                        for name, out in outs.items():
                            differ[name] = differ.get(name, 0) + (out != first)
            load.append(os.getloadavg()[0])
    finally:
        for process in busy:
            process.kill()
        for _, process in children:
            process.kill()
    print(
        f"load average {min(load):.1f}-{max(load):.1f}, busy processes on one core: {args.busy};"
        f" {args.rounds} round(s), seed {args.seed}"
    )
    base = children[0][0]
    for kind in sets:
        for mode in args.modes:
            base_p95 = percentile(times[(base, kind, mode)], 95)
            for name, _ in children:
                values = times[(name, kind, mode)]
                p95 = percentile(values, 95)
                print(
                    f"{kind:<5} {mode:<5} {name:<12} p50 {percentile(values, 50):6.1f}"
                    f"  p95 {p95:6.1f}  mean {statistics.mean(values):6.1f}"
                    f"  max {max(values):6.1f} ms  ({len(values)})  p95 vs {base}"
                    f" {p95 / base_p95:.2f}x"
                )
    print("readings that differ from", base, {k: v for k, v in differ.items() if k != base})
    return 0


if __name__ == "__main__":
    sys.exit(main())
