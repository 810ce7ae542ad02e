"""Comment reading on held-out text: the learned reader against the 1.2 word list, one run.

Run from the repo root: ``python bench/analysis_bench.py`` (``make bench`` runs it).

* Accuracy: per label precision, recall and F1 on each held-out set in ``data/heldout``
  (``comments.jsonl`` by author B; ``comments_v2.jsonl`` by author G, written after the
  first set's figures were known and before reader 2.1 was tuned; ``comments_v3.jsonl`` by
  author J, written after set 2's figures were known and before reader 2.2 was tuned;
  ``comments_v4.jsonl`` by author K, written after set 3's figures were known and before
  reader 2.3 was tuned; ``comments_v5.jsonl`` by author N, written after set 4's figures
  were known and before reader 2.4 was tuned; ``comments_v6.jsonl`` by author Q, written
  after set 5's figures were known and before reader 2.5 was tuned; ``comments_v7.jsonl``
  by author T, written after 2.5's figures on sets 1-6 were known; ``comments_v8.jsonl``
  by author U, written before reader 2.6 was tuned, to choose between 2.4 and 2.6 by the
  rule in ``data/heldout/CHOICE_v8.md``; all by separate
  authors who read only ``data/LABELS.md`` and never saw the code or the training data;
  never used for training or tuning; set 7 chose between readers 2.4 and 2.5 by a rule
  fixed before it was written),
  for the current reader and for the word-list reader of version 1.2
  (``analyse_comment(text, model=False)``), measured in the same run. PASS/FAIL against the
  goal, on every set: recall >= 0.95 and F1 >= 0.9 for distress, opt_out and
  contact_request. Also: how often a correctly flagged label's highlighted phrase overlaps
  the phrase the author marked as evidence.
* Worker cost, in a fresh process pinned to 2 cores, as a worker runs (with the thread
  settings ``workers`` gives a worker process, inherited from this one): the faster-whisper
  engine (``transcription.engines.get_engine``) and the reader both loaded; latency per
  comment (p50/p95, goal <= 50 ms) read back to back and right after a Whisper decode,
  and the process's RSS (goal <= 900 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import workers  # noqa: E402, F401  (a worker's thread settings, for the probe process)
from bench.stats import percentile  # noqa: E402
from transcription.analysis import (  # noqa: E402
    ANALYSER_VERSION,
    LABELS,
    RULES_VERSION,
    CommentAnalysis,
    analyse_comment,
)
from transcription.audio import decode_to_pcm16k  # noqa: E402
from transcription.engines import EngineSettings, get_engine  # noqa: E402

HELDOUT = ROOT / "data" / "heldout"
HELDOUT_SETS = [
    HELDOUT / n
    for n in (
        "comments.jsonl",
        "comments_v2.jsonl",
        "comments_v3.jsonl",
        "comments_v4.jsonl",
        "comments_v5.jsonl",
        "comments_v6.jsonl",
        "comments_v7.jsonl",
        "comments_v8.jsonl",
        "comments_v9.jsonl",
        "comments_v10.jsonl",
        "comments_v11.jsonl",
    )
]
GOAL_LABELS = ("distress", "opt_out", "contact_request")
GOAL_RECALL, GOAL_F1 = 0.95, 0.90
LATENCY_GOAL_MS, RSS_GOAL_MB = 50.0, 900.0
CORES = 2
CLIP = ROOT / "tests" / "fixtures" / "audio" / "anxious.wav"


def load_rows(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        if "text" not in row or "labels" not in row:
            raise SystemExit(f"{path}: every row needs 'text' and 'labels'")
    return rows


def prf(truth: list[bool], predicted: list[bool]) -> tuple[float, float, float]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


def phrase_overlap(rows: list[dict], readings: list[CommentAnalysis], label: str) -> str:
    """Of the correctly flagged comments with a marked evidence phrase, how many of ours
    overlap it (share a character span)."""
    hits = total = 0
    for row, reading in zip(rows, readings, strict=True):
        marked = (row.get("phrases") or {}).get(label) or []
        result = reading.labels[label]
        if not (result.flagged and label in row["labels"] and marked):
            continue
        evidence = [(start, start + len(p)) for p in marked if (start := row["text"].find(p)) >= 0]
        if not evidence:
            continue
        total += 1
        hits += any(s < e2 and s2 < e for s, e in result.spans for s2, e2 in evidence)
    return f"{hits}/{total}" if total else "-"


def accuracy(rows: list[dict], path: Path) -> bool:
    texts = [r["text"] for r in rows]
    new = [analyse_comment(t) for t in texts]
    old = [analyse_comment(t, model=False) for t in texts]
    print(
        f"comments: {len(rows)} ({path}); reader {ANALYSER_VERSION} vs word list {RULES_VERSION}\n"
    )
    header = (
        f"{'label':<16}{'n+':>4}   {'new P':>6}{'R':>6}{'F1':>6}   {'old P':>6}{'R':>6}{'F1':>6}"
        f"   {'phrase':>7}   goal (R >= {GOAL_RECALL}, F1 >= {GOAL_F1})"
    )
    print(header)
    print("-" * len(header))
    passed = True
    for label in LABELS:
        truth = [label in r["labels"] for r in rows]
        p, r, f1 = prf(truth, [label in a.flagged() for a in new])
        op, orr, of1 = prf(truth, [label in a.flagged() for a in old])
        verdict = "-"
        if label in GOAL_LABELS:
            ok = r >= GOAL_RECALL and f1 >= GOAL_F1
            passed &= ok
            verdict = "PASS" if ok else "FAIL"
        print(
            f"{label:<16}{sum(truth):>4}   {p:6.2f}{r:6.2f}{f1:6.2f}   {op:6.2f}{orr:6.2f}"
            f"{of1:6.2f}   {phrase_overlap(rows, new, label):>7}   {verdict}"
        )
    print(
        "phrase = correctly flagged comments whose highlight overlaps the author's evidence phrase."
    )
    print(f"accuracy goal: {'PASS' if passed else 'FAIL'}")
    return passed


def probe(path: Path) -> None:
    """The worker's view, in this (fresh) process: Whisper and the reader, then timings."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:CORES]
        os.sched_setaffinity(0, cpus)
    process = psutil.Process()
    base_mb = process.memory_info().rss / 2**20
    engine = get_engine(EngineSettings())
    audio = decode_to_pcm16k(CLIP)
    engine.transcribe(audio)
    whisper_mb = process.memory_info().rss / 2**20
    started = time.perf_counter()
    analyse_comment("warm-up: I'm worried, please call me back")  # what workers.worker does
    load_ms = (time.perf_counter() - started) * 1000
    texts = [r["text"] for r in load_rows(path)]

    back_to_back: list[float] = []
    for _ in range(3):
        for text in texts:
            t0 = time.perf_counter()
            analyse_comment(text)
            back_to_back.append((time.perf_counter() - t0) * 1000)
    after_whisper: list[float] = []
    for text in texts[:40]:
        engine.transcribe(audio)  # a job transcribes, then reads at once
        t0 = time.perf_counter()
        analyse_comment(text)
        after_whisper.append((time.perf_counter() - t0) * 1000)
    print(
        json.dumps(
            {
                "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
                "rss_start_mb": base_mb,
                "rss_whisper_mb": whisper_mb,
                "rss_mb": process.memory_info().rss / 2**20,
                "reader_load_ms": load_ms,
                "back_to_back": back_to_back,
                "after_whisper": after_whisper,
                "load_average": os.getloadavg()[0],
            }
        )
    )


def worker_cost(path: Path) -> bool:
    result = subprocess.run(
        [sys.executable, __file__, "--probe", "--data", str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"\nworker process pinned to {figures['cores']} cores, faster-whisper tiny.en loaded"
        f" (machine load average {figures['load_average']:.1f} while measuring):"
    )
    worst = 0.0
    for name in ("back_to_back", "after_whisper"):
        values = figures[name]
        p50, p95 = percentile(values, 50), percentile(values, 95)
        worst = max(worst, p95)
        print(
            f"  latency per comment, {name.replace('_', ' ')}: p50 {p50:.1f} ms, p95 {p95:.1f} ms,"
            f" mean {statistics.mean(values):.1f} ms, max {max(values):.1f} ms ({len(values)})"
        )
    print(f"  first read (loads MiniLM, weights, VADER): {figures['reader_load_ms']:.0f} ms")
    rss = figures["rss_mb"]
    print(
        f"  RSS: {figures['rss_start_mb']:.0f} MB at start, {figures['rss_whisper_mb']:.0f} MB"
        f" with Whisper, {rss:.0f} MB with Whisper + the comment reader"
    )
    latency_ok, rss_ok = worst <= LATENCY_GOAL_MS, rss <= RSS_GOAL_MB
    print(f"latency goal (p95 <= {LATENCY_GOAL_MS:.0f} ms): {'PASS' if latency_ok else 'FAIL'}")
    print(f"memory goal (RSS <= {RSS_GOAL_MB:.0f} MB): {'PASS' if rss_ok else 'FAIL'}")
    return latency_ok and rss_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, action="append", help="labelled comments (JSONL); repeatable"
    )
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = args.data or [path for path in HELDOUT_SETS if path.exists()]
    if args.probe:
        probe(paths[0])
        return 0
    passed = True
    for path in paths:
        passed &= accuracy(load_rows(path), path)
        print()
    passed &= worker_cost(paths[0])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
