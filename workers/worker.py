"""Worker entry point: ``python -m workers.worker``.

Uses RQ's SimpleWorker: jobs run in this process, so the Whisper model loaded once at
start is reused by every job. RQ's default Worker forks a fresh work horse per job, and
CTranslate2's thread pools do not survive a fork, so each job would reload the model.
The price is that a job that crashes the interpreter takes the worker with it; the
process manager restarts it and the recording sweep re-enqueues abandoned work.
"""

from __future__ import annotations

import argparse
import logging

from rq import SimpleWorker

from core import queues
from core.redis_client import get_redis
from workers.context import worker_app

log = logging.getLogger(__name__)


def preload(app_config: dict[str, object]) -> None:
    """Load the transcription engine and run it once, so the first job pays for neither.

    The warm-up clip is a loud tone: silence would be stopped by the energy gate before
    Whisper runs, and the first real decode is what allocates CTranslate2's buffers.
    """
    import numpy as np

    from transcription.engines import SAMPLE_RATE, EngineSettings, get_engine

    engine = get_engine(EngineSettings.from_config(app_config))
    t = np.arange(SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
    engine.transcribe((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--queues", nargs="*", default=list(queues.ALL))
    parser.add_argument("--no-preload", action="store_true", help="load the model on first use")
    parser.add_argument("--max-jobs", type=int, default=None)
    args = parser.parse_args(argv)

    app = worker_app()
    with app.app_context():
        if not args.no_preload:
            preload(dict(app.config))
        connection = get_redis()
        worker = SimpleWorker(
            [queues.get_queue(q, connection) for q in args.queues], connection=connection
        )
        worker.work(
            burst=args.burst, with_scheduler=True, max_jobs=args.max_jobs, logging_level="INFO"
        )


if __name__ == "__main__":
    main()
