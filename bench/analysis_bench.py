"""Accuracy and speed of transcription.analysis against naive baselines, in one run.

Run from the repo root: ``python bench/analysis_bench.py``. Baselines:
    * keywords: each label fires when any of its obvious keywords appears anywhere,
      with no negation, tense or politeness handling.
    * vader: ``negative`` when VADER's compound score is <= -0.05 (its usual cut-off).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from transcription.analysis import ANALYSER_VERSION, LABELS, analyse_comment  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "comments.jsonl"

# What someone would write first: the label's obvious words, matched as substrings.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "distress": (
        "worr",
        "anxi",
        "scared",
        "afraid",
        "panic",
        "stress",
        "urgent",
        "emergency",
        "rent",
        "medication",
        "can't sleep",
        "lose my",
    ),
    "negative": (
        "rude",
        "hold",
        "wait",
        "complain",
        "terrible",
        "not fixed",
        "not happy",
        "charged",
        "useless",
        "worst",
    ),
    "contact_request": ("call me", "ring me", "phone me", "contact me", "call back", "touch"),
    "opt_out": ("stop", "unsubscribe", "list", "don't call", "no more", "remove", "opt out"),
}

Predictor = Callable[[str], set[str]]


def keyword_baseline(text: str) -> set[str]:
    lowered = text.lower()
    return {label for label, words in KEYWORDS.items() if any(w in lowered for w in words)}


_BASELINE_VADER = SentimentIntensityAnalyzer()


def vader_baseline(text: str) -> set[str]:
    compound = _BASELINE_VADER.polarity_scores(text)["compound"]
    return {"negative"} if compound <= -0.05 else set()


def ours(text: str) -> set[str]:
    return set(analyse_comment(text).flagged())


def prf(rows: list[dict], predict: Predictor, label: str) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for row in rows:
        got = label in predict(row["text"])
        want = label in row["labels"]
        tp += got and want
        fp += got and not want
        fn += want and not got
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def accuracy_table(rows: list[dict]) -> None:
    splits = {
        "all": rows,
        "train": [r for r in rows if r.get("split") != "holdout"],
        "holdout": [r for r in rows if r.get("split") == "holdout"],
    }
    header = (
        f"{'label':<16}{'split':<9}{'n+':>4}  {'P':>5}{'R':>6}{'F1':>6}"
        f"  {'kw F1':>6}{'vader F1':>9}  {'F1 gain':>8}"
    )
    print(header)
    print("-" * len(header))
    for label in LABELS:
        for split, subset in splits.items():
            positives = sum(label in r["labels"] for r in subset)
            p, r, f1 = prf(subset, ours, label)
            kw_f1 = prf(subset, keyword_baseline, label)[2]
            vader_f1 = prf(subset, vader_baseline, label)[2] if label == "negative" else None
            best = max(kw_f1, vader_f1 or 0.0)
            vader_cell = f"{vader_f1:9.2f}" if vader_f1 is not None else f"{'-':>9}"
            print(
                f"{label:<16}{split:<9}{positives:>4}  {p:5.2f}{r:6.2f}{f1:6.2f}"
                f"  {kw_f1:6.2f}{vader_cell}  {f1 - best:+8.2f}"
            )
    print("F1 gain = ours minus the best baseline for that row.")


def throughput(rows: list[dict], rounds: int = 40) -> None:
    texts = [r["text"] for r in rows]
    latencies = []
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            t0 = time.perf_counter()
            analyse_comment(text)
            latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"\nthroughput: {len(latencies) / total:,.0f} comments/s over {len(latencies)} calls; "
        f"mean {statistics.mean(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"
    )
    kw_started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            keyword_baseline(text)
    kw_rate = len(latencies) / (time.perf_counter() - kw_started)
    print(f"keyword baseline: {kw_rate:,.0f} comments/s (for scale)")


def main() -> None:
    started = time.perf_counter()
    analyse_comment("warm up: builds VADER once per process")
    cold_ms = (time.perf_counter() - started) * 1000
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    holdout = sum(r.get("split") == "holdout" for r in rows)
    print(f"analyser {ANALYSER_VERSION}: {len(rows)} comments ({holdout} holdout)\n")
    accuracy_table(rows)
    print(f"\nfirst call (builds VADER): {cold_ms:.1f} ms")
    throughput(rows)


if __name__ == "__main__":
    main()
