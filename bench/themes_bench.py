"""Themes: quality on held-out comments, and the time to recompute 10,000 comments.

Run from the repo root: ``python bench/themes_bench.py [--comments 10000] [--skip-speed]``
(``make bench`` runs it). Everything runs the product's own code on a throwaway app
(SQLite file, embedded Redis) in this process, pinned to 2 cores.

Quality, on ``data/heldout/themes.jsonl`` (342 comments in 10 topics, written by author D
apart from the code; never used to choose anything: the thresholds were chosen by eye on
``data/train/comments.jsonl`` and on our own ``tests/fixtures/themes/dev_comments.jsonl``):

* daily: the comments arrive over 10 days in a seeded random order and the
  ``assign_themes`` job runs after each day (join the nearest theme at cosine >= 0.45, or
  wait; a new theme from 3 alike waiting comments);
* rebuild: then ``flask themes rebuild`` (keeping what it can of the daily themes);
* baselines, same run: TF-IDF vectors with the same clustering; and, for reference, k-means
  with k = 10 on TF-IDF and on the same MiniLM embeddings (told the number of topics, which
  the product never is).

Adjusted Rand index counts a comment in no theme as a group of its own; purity is over
themed comments, with the share themed beside it. Goals: rebuild ARI >= 0.5 and purity
>= 0.7, daily ARI >= 0.4, and the product's ARI above the TF-IDF baseline's.

Speed: 10,000 comments made by sampling the training and dev comments and perturbing them
(speech fillers, a dropped word, an opener), then ``themes rebuild`` twice on 2 cores: the
first embeds every comment (done once; later comments are embedded as they arrive), the
second recomputes from the stored embeddings. Baseline, same run: plain average linkage of
all 10,000 (no sampling). Goals: recompute (clustering + saving) <= 120 s; embedding
<= 300 s (30 ms a comment).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from core.db import db  # noqa: E402
from core.models import CallSession, Recording, RecordingStatus, Survey  # noqa: E402
from core.redis_client import get_redis  # noqa: E402
from core.seed import create_demo_survey  # noqa: E402
from ivr import create_app  # noqa: E402
from themes import assign, grouping  # noqa: E402
from themes.models import ThemeComment  # noqa: E402
from themes.rebuild import rebuild  # noqa: E402
from transcription.embeddings import get_embedder  # noqa: E402

HELDOUT = ROOT / "data" / "heldout" / "themes.jsonl"
TRAIN = ROOT / "data" / "train" / "comments.jsonl"
DEV = ROOT / "tests" / "fixtures" / "themes" / "dev_comments.jsonl"
CORES = 2
DAYS = 10
START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
GOAL_ARI, GOAL_PURITY, GOAL_DAILY_ARI = 0.5, 0.7, 0.4
GOAL_RECOMPUTE_S, GOAL_EMBED_S = 120.0, 300.0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def texts_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def throwaway_app(folder: Path) -> Flask:
    app = create_app(
        {
            "INSTANCE_DIR": str(folder),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "EMBEDDED_REDIS_PATH": str(folder / "redis.db"),
            "REDIS_URL": "",
            "API_TOKEN": "bench",
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        create_demo_survey()
        get_redis().flushdb()
    return app


def add_comments(texts: list[str], times: list[datetime], first_id: int) -> list[int]:
    """Finished calls with analysed comments, inserted in bulk; returns the recording ids."""
    survey = db.session.scalar(select(Survey))
    assert survey is not None and survey.active_version_id is not None
    ids = list(range(first_id, first_id + len(texts)))
    db.session.execute(
        insert(CallSession),
        [
            {
                "id": i,
                "call_sid": f"CA{i:032x}",
                "survey_version_id": survey.active_version_id,
                "from_number": "+14155550123",
                "to_number": "+15005550006",
                "direction": "inbound",
                "created_at": at,
            }
            for i, at in zip(ids, times, strict=True)
        ],
    )
    db.session.execute(
        insert(Recording),
        [
            {
                "id": i,
                "recording_sid": f"RE{i:032x}",
                "session_id": i,
                "status": RecordingStatus.ANALYSED,
                "transcript": text,
                "analysis": {"labels": {}},
                "created_at": at,
            }
            for i, text, at in zip(ids, texts, times, strict=True)
        ],
    )
    db.session.commit()
    return ids


def labels_of(recording_ids: list[int]) -> list[int]:
    """Each recording's theme id, -1 for none."""
    db.session.expire_all()
    rows = db.session.execute(select(ThemeComment.recording_id, ThemeComment.theme_id)).all()
    found = {recording_id: theme_id for recording_id, theme_id in rows}
    return [found.get(r) or -1 for r in recording_ids]


def scores(topics: list[str], labels: list[int]) -> dict[str, float]:
    alone = [label if label >= 0 else -(i + 1) for i, label in enumerate(labels)]
    themed = [(t, label) for t, label in zip(topics, labels, strict=True) if label >= 0]
    groups: dict[int, Counter[str]] = {}
    for topic, label in themed:
        groups.setdefault(label, Counter())[topic] += 1
    pure = sum(c.most_common(1)[0][1] for c in groups.values())
    return {
        "ari": float(adjusted_rand_score(topics, alone)),
        "purity": pure / len(themed) if themed else 0.0,
        "themed": len(themed) / len(labels),
        "themes": float(len(groups)),
    }


def line(name: str, s: dict[str, float]) -> str:
    return (
        f"  {name:<34} ARI {s['ari']:.3f}  purity {s['purity']:.3f}  "
        f"themed {s['themed'] * 100:5.1f}%  themes {int(s['themes']):3d}"
    )


def quality(folder: Path) -> bool:
    rows = texts_of(HELDOUT)
    texts = [r["text"] for r in rows]
    topics = [r["topic"] for r in rows]
    print(f"Quality: {len(rows)} held-out comments in {len(set(topics))} topics ({HELDOUT.name})")
    order = list(range(len(rows)))
    random.Random(15).shuffle(order)
    app = throwaway_app(folder)
    with app.app_context():
        recording_ids = [0] * len(rows)
        per_day = -(-len(order) // DAYS)
        for day in range(DAYS):
            chunk = order[day * per_day : (day + 1) * per_day]
            at = START + timedelta(days=day)
            times = [at + timedelta(minutes=n) for n in range(len(chunk))]
            ids = add_comments([texts[i] for i in chunk], times, first_id=day * per_day + 1)
            for i, recording_id in zip(chunk, ids, strict=True):
                recording_ids[i] = recording_id
            assign.assign_new(now=at + timedelta(hours=12))
        daily = scores(topics, labels_of(recording_ids))
        rebuilt = rebuild(now=START + timedelta(days=DAYS))
        after = scores(topics, labels_of(recording_ids))
    vectors = get_embedder().encode(texts)
    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts)
    tfidf_labels = grouping.group(tfidf.toarray().astype(np.float32))
    k = len(set(topics))
    kmeans = KMeans(n_clusters=k, n_init=10, random_state=0).fit(vectors)
    tfidf_kmeans = KMeans(n_clusters=k, n_init=10, random_state=0).fit(tfidf)
    base_tfidf = scores(topics, tfidf_labels.tolist())
    base_kmeans = scores(topics, kmeans.labels_.tolist())
    base_tfidf_kmeans = scores(topics, tfidf_kmeans.labels_.tolist())
    print(line(f"daily assign_themes ({DAYS} days)", daily))
    print(line("after themes rebuild", after) + f"  ({rebuilt.moved} comments moved)")
    print(line("baseline: TF-IDF + same clustering", base_tfidf))
    print(line("reference: TF-IDF k-means, k told", base_tfidf_kmeans))
    print(line("reference: MiniLM k-means, k told", base_kmeans))
    goals = [
        (f"rebuild ARI >= {GOAL_ARI}", after["ari"] >= GOAL_ARI),
        (f"rebuild purity >= {GOAL_PURITY}", after["purity"] >= GOAL_PURITY),
        (f"daily ARI >= {GOAL_DAILY_ARI}", daily["ari"] >= GOAL_DAILY_ARI),
        ("rebuild ARI above the TF-IDF baseline", after["ari"] > base_tfidf["ari"]),
    ]
    for name, ok in goals:
        print(f"  {verdict(ok)}  {name}")
    return all(ok for _, ok in goals)


FILLERS = ("um", "uh", "yeah", "so", "honestly", "like", "you know", "i mean")
OPENERS = ("yeah hi", "um so", "right so", "hello", "just to say")


def synthetic(count: int, seed: int = 0) -> list[str]:
    """``count`` comments: training and dev comments sampled, each lightly perturbed."""
    pool = [r["text"] for r in texts_of(TRAIN)] + [r["text"] for r in texts_of(DEV)]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = rng.choice(pool).split()
        if len(words) > 4 and rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
        if rng.random() < 0.3:
            words.insert(0, rng.choice(OPENERS))
        out.append(" ".join(words))
    return out


def peak_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed(folder: Path, count: int) -> bool:
    print(f"\nSpeed: {count} synthetic comments, {len(os.sched_getaffinity(0))} cores")
    texts = synthetic(count)
    app = throwaway_app(folder)
    with app.app_context():
        start = START
        add_comments(texts, [start + timedelta(seconds=30 * n) for n in range(count)], 1)
        first = rebuild(now=start + timedelta(days=90))
        second = rebuild(now=start + timedelta(days=90))
        stored = [c.embedding for c in db.session.scalars(select(ThemeComment))]
    vectors = np.stack([np.frombuffer(b, dtype=np.float32) for b in stored])
    sampled_peak = peak_mb()
    started = time.perf_counter()
    plain = grouping.group(vectors, max_linked=len(vectors) + 1)
    plain_s = time.perf_counter() - started
    plain_peak = peak_mb()
    embed_s = first.seconds["embedding"]
    recompute_s = second.seconds["clustering"] + second.seconds["saving"]
    print(
        f"  embedding (first rebuild)           {embed_s:7.1f} s  "
        f"({embed_s / count * 1000:.1f} ms a comment)"
    )
    clustering_s, saving_s = second.seconds["clustering"], second.seconds["saving"]
    print(
        f"  recompute from stored embeddings    {recompute_s:7.1f} s  "
        f"(clustering {clustering_s:.1f} s, saving {saving_s:.1f} s)"
        f"  -> {second.themes} themes, {second.unthemed} in none, {second.moved} moved"
    )
    print(
        f"  baseline: plain linkage of all      {plain_s:7.1f} s  ({int(plain.max()) + 1} themes)"
    )
    print(f"  peak RSS: {sampled_peak:.0f} MB after both rebuilds, {plain_peak:.0f} MB after plain")
    goals = [
        (f"recompute <= {GOAL_RECOMPUTE_S:.0f} s", recompute_s <= GOAL_RECOMPUTE_S),
        (f"embedding <= {GOAL_EMBED_S:.0f} s", embed_s <= GOAL_EMBED_S),
    ]
    for name, ok in goals:
        print(f"  {verdict(ok)}  {name}")
    return all(ok for _, ok in goals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:CORES])
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="themes-bench-") as tmp:
        ok = quality(Path(tmp) / "quality")
        if not args.skip_speed:
            ok = speed(Path(tmp) / "speed", args.comments) and ok
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
