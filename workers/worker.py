"""Worker entry point: ``python -m workers.worker``.

Uses RQ's SimpleWorker: jobs run in this process, so the Whisper model loaded once at
start is reused by every job. RQ's default Worker forks a fresh work horse per job, and
CTranslate2's thread pools do not survive a fork, so each job would reload the model.
The price is that a job that crashes the interpreter takes the worker with it; the
process manager restarts it, and the job's short heartbeat lease lets the scheduler's
watchdog retry it within seconds (``workers.recovery``, ``workers.watchdog``).

The worker waits for the database and Redis at start, and again when it loses Redis,
instead of exiting (``workers.readiness``).

The Procfile runs two kinds (README "Transcription"): ``worker`` serves the ``high`` queue
(callback rules, dialling, escalation) and never loads Whisper, so a click-to-call never
waits behind a transcription; ``transcriber`` serves ``default`` and ``transcription`` with
the model loaded, and runs as many copies, on as many hosts, as the recordings need.
"""

from __future__ import annotations

import argparse
import logging
import threading

from flask import Flask
from redis.exceptions import RedisError

from core import queues
from core.redis_client import get_redis
from workers.context import worker_app
from workers.readiness import stop_on_signals, wait_for_services
from workers.recovery import RecoveringWorker

log = logging.getLogger(__name__)

RESTART_PAUSE_SECONDS = 1.0  # between a worker loop that ended and the next one


def preload(app_config: dict[str, object]) -> None:
    """Load the transcription engine and the comment reader and run each once, so the
    first job pays for neither.

    The warm-up clip is a loud tone: silence would be stopped by the energy gate before
    Whisper runs, and the first real decode is what allocates CTranslate2's buffers. The
    warm-up comment loads the MiniLM embedding model (~90 MB, once per process, like
    Whisper), the reader's weights and VADER.
    """
    from transcription.analysis import analyse_comment
    from transcription.engines import EngineSettings, get_engine, warm_up

    warm_up(get_engine(EngineSettings.from_config(app_config)))
    analyse_comment("warm-up: I'm worried about my bill, please call me back")


def work(
    app: Flask,
    queue_names: list[str],
    stop: threading.Event,
    *,
    burst: bool = False,
    max_jobs: int | None = None,
) -> None:
    """Run worker loops until stopped; each starts once the database and Redis answer.

    RQ's loop ends on a Redis error (a restart, a timeout); a new one then starts as soon
    as Redis is back. A job that was running is retried by the watchdog if its lease ran
    out meanwhile.
    """
    while not stop.is_set():
        stop_on_signals(stop)  # RQ installs its own handlers while a loop runs
        if not wait_for_services(app, stop):
            return
        connection = get_redis()
        worker = RecoveringWorker(
            [queues.get_queue(q, connection) for q in queue_names],
            connection=connection,
            stop=stop,
        )
        try:
            worker.work(burst=burst, with_scheduler=True, max_jobs=max_jobs, logging_level="INFO")
        except RedisError as exc:
            log.warning("worker %s lost Redis (%s); waiting for it", worker.name, exc)
        if burst or max_jobs is not None:
            return
        stop.wait(RESTART_PAUSE_SECONDS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--queues", nargs="*", default=list(queues.ALL))
    parser.add_argument("--no-preload", action="store_true", help="load the model on first use")
    parser.add_argument("--max-jobs", type=int, default=None)
    args = parser.parse_args(argv)

    stop = threading.Event()
    stop_on_signals(stop)
    app = worker_app()
    with app.app_context():
        # Only a worker serving transcriptions loads Whisper: dialling never waits for it.
        if not args.no_preload and queues.TRANSCRIPTION in args.queues:
            preload(dict(app.config))
        work(app, args.queues, stop, burst=args.burst, max_jobs=args.max_jobs)


if __name__ == "__main__":
    main()
