"""Queue isolation: "Call now" and anxious comments while 30 recordings wait for Whisper.

Run from the repo root: ``python bench/isolation_bench.py [--rounds 2] [--postgres URL]``.
The production layout on this machine (``bench/stack.py``: PostgreSQL, a Redis of our own,
the fake Twilio, gunicorn, the scheduler), with the worker processes of each layout, side by
side in one run:

* ``one worker``: the previous Procfile, one ``workers.worker`` serving every queue (the
  baseline);
* ``worker + transcriber``: this Procfile, ``worker --queues high --no-preload`` (dialling,
  escalation, callback rules; no Whisper) and ``transcriber --queues default transcription``;
* ``worker + 2 transcribers``: the same with two transcribers of ``WHISPER_THREADS=1``.

Each round, with no transcribing process running, 30 survey calls leave a low score (so
each opens a callback task, claimed here by an agent) and a recorded comment, and 3 more
calls leave an anxious comment behind them; then the transcribing processes start and, once
they are ready, an agent presses "Call now" (``POST /api/callbacks/<id>/call``) every 0.4 s.
Timed:

* Call now: the request until the fake Twilio has the agent's call (``calls.create``);
* anxious: from the moment the transcribers are ready, with the 30 recordings ahead, until
  the task shows as urgent in ``GET /api/callbacks``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from stack import (  # noqa: E402
    API_TOKEN,
    BIN,
    COMPANY,
    DEFAULT_POSTGRES,
    Proc,
    Stack,
    postgres_reachable,
    wait_for,
)

from bench.stats import percentile  # noqa: E402
from core import queues  # noqa: E402
from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN  # noqa: E402
from simulator.actions import Press, RecordAudio  # noqa: E402
from simulator.caller import CallerSimulator  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
BACKLOG = 30
ANXIOUS = 3
CLICK_EVERY = 0.4
AGENT = "agent@example.com"
CALL_NOW_GOAL = 1.0
URGENT_GOAL = 15.0
HEADERS = {"Authorization": f"Bearer {API_TOKEN}"}
WORKER = [sys.executable, "-m", "workers.worker"]
HIGH = ([*WORKER, "--queues", "high", "--no-preload"], {})
TRANSCRIBER = [*WORKER, "--queues", "default", "transcription"]
# Per layout: the processes running throughout, and those that take the transcriptions
# (started once the backlog is queued, stopped at the end of each round).
Spec = tuple[list[str], dict[str, str]]
LAYOUTS: dict[str, tuple[list[Spec], list[Spec]]] = {
    "one worker": ([], [(WORKER, {})]),
    "worker + transcriber": ([HIGH], [(TRANSCRIBER, {})]),
    "worker + 2 transcribers": (
        [HIGH],
        [(TRANSCRIBER, {"WHISPER_THREADS": "1"}), (TRANSCRIBER, {"WHISPER_THREADS": "1"})],
    ),
}


class Round:
    """One layout's stack, its calls and clicks."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.api = f"{stack.web_url}/api/callbacks"
        self.simulator = CallerSimulator(
            account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN, recordings=stack.fake
        )
        self.numbers = iter(range(10_000))

    def comment(self, low_score: bool, clip: str) -> tuple[str, float]:
        """A survey call leaving ``clip``; returns the caller and when the recording was sent."""
        phone = f"+1415555{next(self.numbers):04d}"
        call = self.simulator.call(
            f"{self.stack.web_url}/twilio/voice/survey",
            from_=phone,
            to=COMPANY,
            status_callback=f"{self.stack.web_url}/twilio/voice/status",
        )
        call.start()
        for digits in ("3#", "2", "2", "1") if low_score else ("8#", "4", "1", "1"):
            call.respond(Press(digits))
        sent = time.perf_counter()
        call.respond(RecordAudio(AUDIO / clip))
        call.respond(Press("2"))
        return phone, sent

    def tasks(self) -> list[dict[str, Any]]:
        response = requests.get(self.api, params={"status": "all"}, headers=HEADERS, timeout=10)
        response.raise_for_status()
        return list(response.json()["callbacks"])

    def claim_all(self) -> list[int]:
        ids = [task["id"] for task in self.tasks() if task["state"] == "open"]
        for task_id in ids:
            requests.post(
                f"{self.api}/{task_id}/claim",
                json={"agent_email": AGENT},
                headers=HEADERS,
                timeout=10,
            ).raise_for_status()
        return ids

    def call_now(self, task_id: int) -> float:
        """Press "Call now"; seconds until the fake Twilio has the agent's call."""
        before = {call.sid for call in self.stack.fake.call_list()}
        clicked = datetime.now(UTC)
        response = requests.post(
            f"{self.api}/{task_id}/call", json={"agent_email": AGENT}, headers=HEADERS, timeout=10
        )
        response.raise_for_status()
        created = wait_for(
            lambda: [c for c in self.stack.fake.call_list() if c.sid not in before],
            60,
            "the agent's call reaches Twilio",
            every=0.005,
        )
        return (created[0].date_created - clicked).total_seconds()

    def click(self, task_ids: list[int], done: threading.Event, seconds: list[float]) -> None:
        """Press "Call now" on each task in turn, every CLICK_EVERY s, until ``done``."""
        for task_id in task_ids:
            if done.is_set():
                return
            seconds.append(self.call_now(task_id))
            time.sleep(CLICK_EVERY)

    def wait_urgent(self, phone: str, sent: float) -> float:
        def urgent() -> bool:
            return any(
                t["phone"] == phone and t["priority_label"] == "urgent" for t in self.tasks()
            )

        wait_for(urgent, 300, f"urgent task for {phone}", every=0.05)
        return time.perf_counter() - sent


def start_worker(stack: Stack, spec: Spec) -> None:
    args, extra = spec
    log = stack.workdir / f"worker-{len(stack.workers)}-{time.monotonic_ns()}.log"
    stack.workers.append(Proc(log.stem, args, stack.env | extra, log))


def run_layout(name: str, workdir: Path, postgres: str, rounds: int) -> dict[str, Any]:
    stack = Stack(workdir, postgres=postgres, workers=0)
    call_now: list[float] = []
    urgent: list[float] = []
    ahead: list[int] = []
    try:
        stack.start()
        demo = [str(BIN / "flask"), "--app", "ivr", "demo-users"]  # the agent, with a phone
        subprocess.run(demo, env=stack.env, cwd=ROOT, check=True, capture_output=True)
        always, per_round = LAYOUTS[name]
        for spec in always:
            start_worker(stack, spec)
        runner = Round(stack)
        transcription = queues.get_queue(queues.TRANSCRIPTION, stack.connection())
        for _ in range(rounds):
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda _: runner.comment(True, "happy.wav"), range(BACKLOG)))
            wait_for(lambda: transcription.count >= BACKLOG, 60, "the backlog is queued")
            claimed = runner.claim_all()
            phones = []
            for _ in range(ANXIOUS):
                ahead.append(transcription.count)
                phones.append(runner.comment(False, "anxious.wav")[0])
            wait_for(lambda: transcription.count >= BACKLOG + ANXIOUS, 60, "anxious queued")
            start = len(stack.workers)
            for spec in per_round:
                start_worker(stack, spec)
            wait_for(lambda: len(stack.live_workers()) >= len(stack.workers), 300, "workers")
            # The clock starts when the transcribers can work: every anxious comment has the
            # whole backlog ahead of it, whatever the layout.
            ready = time.perf_counter()
            done = threading.Event()
            clicker = threading.Thread(target=runner.click, args=(claimed, done, call_now))
            clicker.start()
            urgent += [runner.wait_urgent(phone, ready) for phone in phones]
            done.set()
            clicker.join()
            wait_for(lambda: transcription.count == 0, 300, "the queue is empty")
            for proc in stack.workers[start:]:
                proc.stop()
            del stack.workers[start:]
            wait_for(lambda s=start: len(stack.live_workers()) <= s, 60, "transcribers gone")
    except Exception:
        print(stack.tail(), file=sys.stderr)
        raise
    finally:
        stack.close()
    return {"call_now": call_now, "urgent": urgent, "ahead": ahead}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help='"" for SQLite')
    args = parser.parse_args()
    postgres = args.postgres if args.postgres and postgres_reachable(args.postgres) else ""
    os.environ["CALLING_HOURS"] = "00:00-24:00"  # the clicks must not wait for morning
    load = os.getloadavg()[0]
    results = {}
    for name in LAYOUTS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="isolation-") as tmp:
            results[name] = run_layout(name, Path(tmp), postgres, args.rounds)
    print(f"\nload average before/after: {load:.2f} / {os.getloadavg()[0]:.2f} (2 cores here)")
    print(
        f"{'PostgreSQL' if postgres else 'SQLite'}; {args.rounds} round(s) of {BACKLOG} queued "
        f"recordings, {ANXIOUS} anxious comments behind them, Call now every {CLICK_EVERY} s\n"
    )
    print(
        f"{'layout':<26}{'Call now p50':>13}{'p95':>7}{'max':>7}{'anxious p50':>13}{'p95':>7}"
        f"{'max':>7}{'queued ahead':>14}"
    )
    for name, r in results.items():
        print(
            f"{name:<26}{statistics.median(r['call_now']):>12.2f}s"
            f"{percentile(r['call_now'], 95):>6.2f}s{max(r['call_now']):>6.2f}s"
            f"{statistics.median(r['urgent']):>12.2f}s{percentile(r['urgent'], 95):>6.2f}s"
            f"{max(r['urgent']):>6.2f}s{min(r['ahead']):>8}-{max(r['ahead'])}"
        )
    before, after = results["one worker"], results["worker + transcriber"]
    two = results["worker + 2 transcribers"]
    goals = [
        (
            percentile(after["call_now"], 95) <= CALL_NOW_GOAL,
            f"Call now reaches Twilio in <= {CALL_NOW_GOAL:.0f} s p95 with the backlog: "
            f"{percentile(after['call_now'], 95):.2f} s (one worker: "
            f"{percentile(before['call_now'], 95):.2f} s)",
        ),
        (
            min(percentile(after["urgent"], 95), percentile(two["urgent"], 95)) <= URGENT_GOAL,
            f"anxious comment -> urgent task <= {URGENT_GOAL:.0f} s p95 behind the backlog: "
            f"1 transcriber {percentile(after['urgent'], 95):.1f} s, 2 transcribers "
            f"{percentile(two['urgent'], 95):.1f} s (one worker: "
            f"{percentile(before['urgent'], 95):.1f} s)",
        ),
    ]
    for ok, text in goals:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
