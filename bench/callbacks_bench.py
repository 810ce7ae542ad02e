"""Hang-up to callback task visible in GET /api/callbacks, for keypad-only low scores.

Run from the repo root: ``python bench/callbacks_bench.py [--calls 25]``. Everything is
real except Twilio: the app served over HTTP, SQLite (or ``DATABASE_URL``), an embedded
Redis (or ``REDIS_URL``), an RQ SimpleWorker in a thread blocking on the queues, and the
caller simulator placing each survey call against the served app.

Two paths are measured:
    * inline: the production default, rules run in the end-of-survey hook;
    * job: ``CALLBACK_EVALUATE_INLINE=False``, rules run as an RQ job on the worker.

"Hang-up" is the moment the simulated call returns (the caller has hung up and Twilio's
final status callback has been answered); "visible" is the first poll of the API
(every 10 ms) that lists a task for the caller's number.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import requests  # noqa: E402
from rq import SimpleWorker  # noqa: E402
from rq.timeouts import TimerDeathPenalty  # noqa: E402

from core import queues  # noqa: E402
from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN  # noqa: E402
from core.redis_client import get_redis  # noqa: E402
from core.seed import create_demo_survey  # noqa: E402
from ivr import create_app  # noqa: E402
from simulator.actions import Press  # noqa: E402
from simulator.caller import CallerSimulator  # noqa: E402
from simulator.fake_state import FakeTwilio  # noqa: E402
from simulator.fake_twilio import create_fake_twilio_app  # noqa: E402
from simulator.testing import serve_app  # noqa: E402

API_TOKEN = "bench-api-token"
COMPANY = "+15005550006"
LOW_SCORE = [Press("2#"), Press("3"), Press("2"), Press("2"), Press("2")]
TIMEOUT = 15.0


class ThreadWorker(SimpleWorker):
    """SimpleWorker that can run outside the main thread (no signals: timer timeouts)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        return None


def run_worker(app: Any, stop: threading.Event) -> None:
    """Block on the high and default queues (1 s idle turns) until ``stop`` is set."""
    with app.app_context():
        connection = get_redis()
        worker = ThreadWorker(
            [queues.get_queue(q, connection) for q in (queues.HIGH, queues.DEFAULT)],
            connection=connection,
        )
        while not stop.is_set():
            worker.work(logging_level="WARNING", max_idle_time=1)


def measure(simulator: CallerSimulator, base: str, number: str) -> float:
    call = simulator.call(
        f"{base}/twilio/voice/survey",
        from_=number,
        to=COMPANY,
        status_callback=f"{base}/twilio/voice/status",
    )
    result = call.run(LOW_SCORE)
    hung_up = time.perf_counter()
    assert result.errors == [], result.errors
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    with requests.Session() as http:
        while time.perf_counter() - hung_up < TIMEOUT:
            body = http.get(f"{base}/api/callbacks?status=open", headers=headers, timeout=5).json()
            if any(item["phone"] == number for item in body["callbacks"]):
                return time.perf_counter() - hung_up
            time.sleep(0.01)
    raise TimeoutError(f"no task for {number} after {TIMEOUT} s")


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"{name:<8} n={len(samples):<3} p50={statistics.median(ordered) * 1000:7.1f} ms  "
        f"p95={p95 * 1000:7.1f} ms  max={ordered[-1] * 1000:7.1f} ms  "
        f"(goal p95 <= 2000 ms: {'met' if p95 <= 2.0 else 'MISSED'})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=25, help="calls per path (at least 20)")
    args = parser.parse_args(argv)
    instance = Path(tempfile.mkdtemp(prefix="callbacks-bench-"))
    fake = FakeTwilio(account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN)
    with serve_app(create_fake_twilio_app(fake)) as fake_url:
        fake.base_url = fake_url
        database = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
        app = create_app(
            {
                "INSTANCE_DIR": str(instance),
                "SQLALCHEMY_DATABASE_URI": database.replace(
                    "postgresql://", "postgresql+psycopg://", 1
                ),
                "EMBEDDED_REDIS_PATH": str(instance / "redis.db"),
                "API_TOKEN": API_TOKEN,
                "SECRET_KEY": "bench",
                "TWILIO_API_BASE_URL": fake_url,
                "TWILIO_PHONE_NUMBER": COMPANY,
                "CALLING_HOURS": "00:00-23:59",
            }
        )
        with app.app_context():
            flask_migrate.upgrade()
            create_demo_survey()
            get_redis().flushdb()
        stop = threading.Event()
        worker = threading.Thread(target=run_worker, args=(app, stop), daemon=True)
        worker.start()
        simulator = CallerSimulator(
            account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN, recordings=fake
        )
        with serve_app(app) as base:
            app.config["PUBLIC_BASE_URL"] = base
            print(f"{args.calls} keypad-only low-score calls per path, SQL: {database}")
            for offset, (name, inline) in enumerate((("inline", True), ("job", False))):
                app.config["CALLBACK_EVALUATE_INLINE"] = inline
                samples = [
                    measure(simulator, base, f"+1415555{offset}{i:03d}") for i in range(args.calls)
                ]
                report(name, samples)
        stop.set()
        worker.join(timeout=10)


if __name__ == "__main__":
    main()
