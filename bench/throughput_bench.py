"""Scale out: recordings per minute with 1 and 2 transcription workers, threads per worker.

Run from the repo root: ``python bench/throughput_bench.py [--recordings 40] [--postgres URL]``.
The production layout on this machine (``bench/stack.py``: PostgreSQL, a Redis of our own,
the fake Twilio, gunicorn, the scheduler). Survey calls leave N comments (the phone
fixtures in turn); then, for each setting below, the same N recordings are put back to
"pending" and enqueued, the transcribers (``transcriber`` of the Procfile) start suspended,
and the clock runs from their resumption to the last recording read: download, Whisper,
comment reader and callback rules, as in production.

Settings (transcribers x WHISPER_THREADS, WHISPER_BATCH_SIZE): the baseline is the previous
release's worker, 2 threads and one recording at a time; then 1x1 (today's defaults), 1x2,
2x1 and 2x2, all with batches of up to 8.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from flask import Flask  # noqa: E402
from isolation_bench import Round  # noqa: E402
from rq.suspension import resume, suspend  # noqa: E402
from sqlalchemy import update  # noqa: E402
from stack import DEFAULT_POSTGRES, Proc, Stack, postgres_reachable, wait_for  # noqa: E402

from core.db import db  # noqa: E402
from core.models import Recording, RecordingStatus  # noqa: E402
from ivr import create_app  # noqa: E402
from transcription import pipeline  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
CLIPS = sorted(p.name for p in AUDIO.glob("*.wav") if p.stem not in ("corrupt", "short"))
TRANSCRIBER = [sys.executable, "-m", "workers.worker", "--queues", "default", "transcription"]
# (name, workers, threads, batch size)
SETTINGS = [
    ("1 x 2 threads, no batch", 1, 2, 1),
    ("1 x 1 thread", 1, 1, 8),
    ("1 x 2 threads", 1, 2, 8),
    ("2 x 1 thread", 2, 1, 8),
    ("2 x 2 threads", 2, 2, 8),
]


def requeue_all(app: Flask) -> int:
    """Every recording back to pending and enqueued once, as a fresh callback would."""
    with app.app_context():
        db.session.execute(
            update(Recording).values(
                status=RecordingStatus.PENDING,
                enqueued_at=None,
                transcript=None,
                analysis=None,
                media_ready=True,
            )
        )
        db.session.commit()
        ids = db.session.scalars(db.select(Recording.id).order_by(Recording.id)).all()
        return sum(pipeline.enqueue_processing(i) for i in ids)


def analysed(app: Flask) -> int:
    with app.app_context():
        db.session.remove()
        count = db.session.scalar(
            db.select(db.func.count())
            .select_from(Recording)
            .where(Recording.status.in_((RecordingStatus.ANALYSED, RecordingStatus.FAILED)))
        )
        return int(count or 0)


def measure(stack: Stack, app: Flask, workers: int, threads: int, batch: int) -> float:
    """Seconds for the transcribers to read every recording."""
    total = requeue_all(app)
    suspend(stack.connection())
    env = stack.env | {"WHISPER_THREADS": str(threads), "WHISPER_BATCH_SIZE": str(batch)}
    procs = [
        Proc(f"t{n}", TRANSCRIBER, env, stack.workdir / f"t{workers}-{threads}-{batch}-{n}.log")
        for n in range(workers)
    ]
    try:
        wait_for(lambda: len(stack.live_workers()) >= workers, 300, "transcribers ready")
        started = time.perf_counter()
        resume(stack.connection())
        wait_for(lambda: analysed(app) >= total, 900, "every recording read", every=0.05)
        return time.perf_counter() - started
    finally:
        for proc in procs:
            proc.stop()
        wait_for(lambda: not stack.live_workers(), 60, "transcribers gone")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recordings", type=int, default=40)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help='"" for SQLite')
    args = parser.parse_args()
    postgres = args.postgres if args.postgres and postgres_reachable(args.postgres) else ""
    load = os.getloadavg()[0]
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        stack = Stack(Path(tmp), postgres=postgres, workers=0)
        try:
            stack.start()
            runner = Round(stack)
            for n in range(args.recordings):
                runner.comment(n % 2 == 0, CLIPS[n % len(CLIPS)])
            os.environ.update(stack.env)
            app = create_app()
            for name, workers, threads, batch in SETTINGS:
                print(f"running {name} (batch {batch}) ...", file=sys.stderr, flush=True)
                results[name] = measure(stack, app, workers, threads, batch)
        except Exception:
            print(stack.tail(), file=sys.stderr)
            raise
        finally:
            stack.close()
    print(f"\nload average before/after: {load:.2f} / {os.getloadavg()[0]:.2f} (2 cores here)")
    print(
        f"{args.recordings} recordings (the phone fixtures in turn, 7-11 s each), "
        f"{'PostgreSQL' if postgres else 'SQLite'}; download + Whisper + reader + rules\n"
    )
    baseline = results[SETTINGS[0][0]]
    print(f"{'setting':<28}{'seconds':>9}{'per minute':>12}{'vs baseline':>13}")
    for name, seconds in results.items():
        per_minute = args.recordings / seconds * 60
        print(f"{name:<28}{seconds:>9.1f}{per_minute:>12.1f}{baseline / seconds:>12.2f}x")

    def rate(name: str) -> float:
        return args.recordings / results[name] * 60

    best = min(results, key=lambda name: results[name])
    print(f"\nbest: {best} ({rate(best):.1f}/min)")
    goals = [
        (
            rate("1 x 1 thread") > rate(SETTINGS[0][0]),
            f"one transcriber with today's defaults reads more than the previous worker: "
            f"{rate('1 x 1 thread'):.1f}/min vs {rate(SETTINGS[0][0]):.1f}/min",
        ),
        (
            rate("2 x 1 thread") > rate("1 x 1 thread"),
            f"a second transcriber adds throughput on 2 cores: {rate('2 x 1 thread'):.1f}/min "
            f"vs {rate('1 x 1 thread'):.1f}/min "
            f"({results['1 x 1 thread'] / results['2 x 1 thread']:.2f}x)",
        ),
    ]
    for ok, text in goals:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
