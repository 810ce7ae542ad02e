"""Grouping comments by meaning: pure numpy/scipy over unit-length sentence embeddings.

* ``group`` clusters a whole set with no preset number of themes: average-linkage
  agglomerative clustering on cosine distance, cut where a group's comments would on average
  be less alike than ``LINK_SIMILARITY``. Groups under ``MIN_THEME_SIZE`` are not themes
  (label -1). Then one refinement pass moves each comment to its nearest group centroid, if
  it is at least ``JOIN_SIMILARITY`` alike, so a rebuilt theme obeys the same rule as the
  daily one.
* ``nearest`` is that daily rule: a new comment joins the theme whose centroid is most alike,
  at ``JOIN_SIMILARITY`` or more, or joins none.

Average linkage needs every pair's distance, so past ``MAX_LINKED`` comments ``group`` links
a seeded sample, lets the rest join the groups it found, and links what is left over again.

The thresholds were chosen by eye on ``data/train/comments.jsonl`` and on our own labelled
dev set (``tests/fixtures/themes/dev_comments.jsonl``), never on the held-out themes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

Vectors = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

LINK_SIMILARITY = 0.35
JOIN_SIMILARITY = 0.45
MIN_THEME_SIZE = 3
MAX_LINKED = 4000


def unit(rows: npt.NDArray[np.floating]) -> Vectors:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


def _condensed_distances(vectors: Vectors) -> npt.NDArray[np.float64]:
    """Cosine distances of every pair, in scipy's condensed (upper triangle) order."""
    distance = vectors @ vectors.T  # unit rows: one matmul gives every cosine
    np.subtract(1.0, distance, out=distance)
    np.clip(distance, 0.0, 2.0, out=distance)
    np.fill_diagonal(distance, 0.0)
    return squareform(distance, checks=False).astype(np.float64)


def link(vectors: Vectors, similarity: float = LINK_SIMILARITY) -> Labels:
    """Average-linkage groups (labels 0..), cut at mean pairwise cosine ``similarity``."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    tree = linkage(_condensed_distances(vectors), method="average")
    return fcluster(tree, t=1.0 - similarity, criterion="distance").astype(np.int64) - 1


def centroids(vectors: Vectors, labels: Labels, count: int) -> Vectors:
    """Unit-length mean of each label 0..count-1 (comments labelled -1 are left out)."""
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float64)
    kept = labels >= 0
    np.add.at(sums, labels[kept], vectors[kept])
    return unit(sums)


def nearest(
    vectors: Vectors, centres: Vectors, threshold: float = JOIN_SIMILARITY
) -> tuple[Labels, npt.NDArray[np.float32]]:
    """Index of the most alike centre per row and its cosine; -1 when below ``threshold``."""
    if len(centres) == 0 or len(vectors) == 0:
        return np.full(len(vectors), -1, dtype=np.int64), np.zeros(len(vectors), np.float32)
    similarity = vectors @ centres.T
    best = similarity.argmax(axis=1).astype(np.int64)
    score = similarity[np.arange(len(vectors)), best].astype(np.float32)
    return np.where(score >= threshold, best, -1), score


def _big_groups(labels: Labels, min_size: int) -> Labels:
    """Labels with groups under ``min_size`` set to -1, the rest renumbered largest first."""
    kept = labels >= 0
    counts = np.bincount(labels[kept]) if kept.any() else np.zeros(0, dtype=np.int64)
    order = [g for g in np.argsort(-counts, kind="stable") if counts[g] >= min_size]
    mapping = np.full(len(counts) + 1, -1, dtype=np.int64)
    mapping[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    return np.where(kept, mapping[np.where(kept, labels, len(counts))], -1)


def group(
    vectors: Vectors,
    *,
    link_similarity: float = LINK_SIMILARITY,
    join_similarity: float = JOIN_SIMILARITY,
    min_size: int = MIN_THEME_SIZE,
    max_linked: int = MAX_LINKED,
    seed: int = 0,
) -> Labels:
    """Themes for a whole set of comments: labels 0.. (largest first), -1 for no theme."""
    n = len(vectors)
    labels = np.full(n, -1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    centres: list[Vectors] = []
    remaining = np.arange(n)
    while len(remaining) >= min_size:
        sample = (
            np.sort(rng.choice(remaining, max_linked, replace=False))
            if len(remaining) > max_linked
            else remaining
        )
        found = _big_groups(link(vectors[sample], link_similarity), min_size)
        count = int(found.max()) + 1 if len(found) and found.max() >= 0 else 0
        if count == 0:
            break
        centres.append(centroids(vectors[sample], found, count))
        if len(sample) == len(remaining):
            break
        every = np.concatenate(centres)
        joined, _ = nearest(vectors[remaining], every, join_similarity)
        remaining = remaining[joined < 0]
    if not centres:
        return labels
    # One refinement pass: every comment to its nearest centroid, by the daily rule.
    labels, _ = nearest(vectors, np.concatenate(centres), join_similarity)
    return _big_groups(labels, min_size)
