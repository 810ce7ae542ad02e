"""`make soak`: survey calls with recorded comments through the production layout, with a
worker killed (SIGKILL) mid-job and Redis restarted mid-run.

gunicorn + 2 workers + the scheduler on PostgreSQL and a Redis of our own (``bench/stack.py``),
the fake Twilio and the caller simulator placing calls concurrently. A third of the callers
are content (no callback), a third anxious (urgent callback from the comment) and a third
give low scores (callback from the keypad). Checks, printed with the figures:

* every call completed and no webhook answered 5xx (or failed to answer);
* every recording analysed, its media downloaded exactly once — except that the one download
  the kill may interrupt (Twilio answered, our commit never came) is fetched again after it;
* every qualifying caller has exactly one callback task, every other caller none;
* the killed worker's job finished again, and how long after the kill.

Run from the repo root: ``python bench/soak.py [--calls 300] [--json summary.json]``;
exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from rq import Queue  # noqa: E402
from rq.job import Job, JobStatus  # noqa: E402
from rq.registry import StartedJobRegistry  # noqa: E402
from soak_report import passed, print_summary  # noqa: E402
from stack import (  # noqa: E402
    COMPANY,
    DEFAULT_POSTGRES,
    Stack,
    postgres_reachable,
    running_stack,
    wait_for,
)

from bench.stats import percentile  # noqa: E402
from callbacks.rules import TRIGGERS  # noqa: E402
from core import queues  # noqa: E402
from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN  # noqa: E402
from simulator.actions import Action, Press, RecordAudio  # noqa: E402
from simulator.caller import CallerSimulator  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
# Comment labels that open a callback (the rules' own table); "opt_out" blocks one.
OPENING_LABELS = {t.label for t in TRIGGERS if t.label is not None and t.reason is not None}


@dataclass(frozen=True)
class Kind:
    """A kind of caller: what they press and say, and whether they should get a callback."""

    name: str
    keys: tuple[str, ...]  # NPS, CSAT, resolved, consent to record
    clip: str
    callback: bool

    def actions(self) -> list[Action]:
        keys = [Press(k) for k in self.keys]
        return [*keys, RecordAudio(AUDIO / self.clip), Press("2")]  # 2: no callback offer


KINDS = (
    Kind("content", ("9#", "5", "1", "1"), "happy.wav", callback=False),
    Kind("anxious", ("8#", "4", "1", "1"), "anxious.wav", callback=True),
    Kind("low score", ("3#", "2", "2", "1"), "neutral.wav", callback=True),
)


class WebhookLog:
    """Every webhook the simulated Twilio sent: path, status (None: no answer), seconds."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int | None, float]] = []

    def session(self) -> requests.Session:
        log = self

        class Timed(requests.Session):
            def request(self, method: str | bytes, url: str | bytes, *a: Any, **kw: Any) -> Any:
                path = str(url).split("?")[0].split("/", 3)[-1]
                started = time.perf_counter()
                try:
                    response = super().request(method, url, *a, **kw)
                except requests.RequestException:
                    log.entries.append((path, None, time.perf_counter() - started))
                    raise
                log.entries.append((path, response.status_code, time.perf_counter() - started))
                return response

        return Timed()


@dataclass
class Faults:
    """What was injected, and when (seconds since the run started)."""

    kill_at_call: int
    redis_at_call: int
    killed_job: str | None = None
    killed_at: float | None = None  # epoch seconds
    recovered_after: float | None = None
    redis_restarted_at: float | None = None
    redis_down_seconds: float | None = None
    notes: list[str] = field(default_factory=list)


class Soak:
    def __init__(self, stack: Stack, calls: int, concurrency: int) -> None:
        self.stack = stack
        self.calls = calls
        self.concurrency = concurrency
        self.webhooks = WebhookLog()
        self.callers: dict[str, Kind] = {}
        self.done = 0
        self.failed_calls: list[str] = []
        self._lock = threading.Lock()
        self.started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.started

    def place(self, n: int, kind: Kind) -> None:
        phone = f"+1415{7000000 + n:07d}"
        self.callers[phone] = kind
        sim = CallerSimulator(
            account_sid=LOCAL_ACCOUNT_SID,
            auth_token=LOCAL_AUTH_TOKEN,
            recordings=self.stack.fake,
            http=self.webhooks.session(),
        )
        url = self.stack.web_url
        try:
            result = sim.call(
                f"{url}/twilio/voice/survey",
                from_=phone,
                to=COMPANY,
                status_callback=f"{url}/twilio/voice/status",
            ).run(kind.actions())
            if result.status != "completed" or not result.recordings:
                self.failed_calls.append(f"{phone}: {result.status}, {result.errors}")
        except Exception as exc:  # reported as a failed call, the run goes on
            self.failed_calls.append(f"{phone}: {exc!r}")
        with self._lock:
            self.done += 1

    def run_calls(self) -> float:
        kinds = itertools.cycle(KINDS)
        with ThreadPoolExecutor(self.concurrency) as pool:
            for n in range(self.calls):
                pool.submit(self.place, n, next(kinds))
        return self.now()

    # --- faults -------------------------------------------------------------------------

    def inject(self, faults: Faults) -> None:
        """Kill a worker busy with a recording, then restart Redis, as calls go on."""
        wait_for(lambda: self.done >= faults.kill_at_call, 3600, "calls before the kill", 0.2)
        try:
            busy = wait_for(lambda: self.stack.busy_with("recording-"), 120, "a busy worker")
            victim, faults.killed_job = busy
            victim.kill()
            faults.killed_at = time.time()  # wall clock, to compare with RQ's ended_at
            self.stack.start_worker()  # the process manager's restart
        except TimeoutError:
            faults.notes.append("no worker was busy with a recording: none killed")
        wait_for(lambda: self.done >= faults.redis_at_call, 3600, "calls before Redis", 0.2)
        faults.redis_restarted_at = self.now()
        faults.redis_down_seconds = self.stack.redis.restart()
        if faults.killed_job and faults.killed_at is not None:
            self._time_recovery(faults)

    def _time_recovery(self, faults: Faults) -> None:
        """Seconds from the kill to the end of the job's rerun (RQ's ``ended_at``)."""
        assert faults.killed_job is not None and faults.killed_at is not None

        def finished() -> Job | None:
            with self.stack.connection() as conn:
                job = Job.fetch(faults.killed_job or "", connection=conn)
                return job if job.get_status() == JobStatus.FINISHED else None

        try:
            job = wait_for(finished, 600, "the killed job finishes", 0.2)
            assert job.ended_at is not None
            faults.recovered_after = job.ended_at.timestamp() - faults.killed_at
        except TimeoutError:
            faults.notes.append(f"killed job {faults.killed_job} never finished")

    # --- settling and checking ----------------------------------------------------------

    def settled(self) -> bool:
        (unfinished,) = self.stack.db.query(
            "SELECT count(*) FROM recordings WHERE status NOT IN ('analysed', 'failed')"
        )[0]
        if unfinished:
            return False
        with self.stack.connection() as conn:
            for name in queues.ALL:
                queue = Queue(name, connection=conn)
                if queue.count or StartedJobRegistry(queue=queue).get_job_ids():
                    return False
                if any(
                    j.startswith("recording-") for j in queue.scheduled_job_registry.get_job_ids()
                ):
                    return False
        return True

    def unfinished(self) -> list[str]:
        """What became of each recording not analysed: its row, and its job in Redis."""
        rows = self.stack.db.query(
            "SELECT recording_sid, status, media_ready, enqueued_at, failure_reason"
            " FROM recordings WHERE status <> 'analysed'"
        )
        found = []
        with self.stack.connection() as conn:
            for sid, status, ready, enqueued_at, reason in rows:
                job_id = f"recording-{sid}"
                try:
                    job = Job.fetch(job_id, connection=conn)
                    job_status = f"{job.get_status()}, worker {job.worker_name or '-'}"
                except Exception as exc:  # no such job (never enqueued, or lost)
                    job_status = type(exc).__name__
                queue = Queue(queues.TRANSCRIPTION, connection=conn)
                where = [
                    name
                    for name, ids in (
                        ("queue", queue.get_job_ids()),
                        ("intermediate", queue.intermediate_queue.get_job_ids()),
                        ("started", StartedJobRegistry(queue=queue).get_job_ids(cleanup=False)),
                        ("scheduled", queue.scheduled_job_registry.get_job_ids()),
                        ("failed", queue.failed_job_registry.get_job_ids()),
                    )
                    if job_id in ids
                ]
                found.append(
                    f"{sid}: {status} (media ready {ready}, enqueued {enqueued_at}, {reason});"
                    f" job {job_status}; in {where or 'no RQ list'}"
                )
        return found

    def report(self, faults: Faults, calls_took: float, settle_took: float) -> dict[str, Any]:
        recordings = self.stack.db.query(
            "SELECT r.recording_sid, r.status, s.from_number, r.analysis FROM recordings r "
            "JOIN call_sessions s ON s.id = r.session_id"
        )
        flags = {
            phone: {k for k, v in (analysis or {}).get("labels", {}).items() if v.get("flagged")}
            for _, _, phone, analysis in recordings
        }
        fetched: dict[str, list[float]] = {}
        for entry in list(self.stack.fake.api_log):
            path = entry["path"]
            if entry["method"] == "GET" and "/Recordings/" in path and ".json" not in path:
                sid = path.split("/Recordings/")[1].split(".")[0]
                at = datetime.fromisoformat(entry["at"]).timestamp()
                fetched.setdefault(sid, []).append(at)
        downloads = Counter({sid: len(times) for sid, times in fetched.items()})
        # At-least-once by nature: a worker killed between Twilio's answer and our commit
        # leaves the recording undownloaded, and its retry fetches it again. Only a second
        # fetch that straddles the kill is that; any other repeat is a bug.
        killed_at = faults.killed_at
        refetched = [
            sid
            for sid, times in fetched.items()
            if len(times) == 2 and killed_at is not None and times[0] <= killed_at <= times[1]
        ]
        tasks = dict(
            self.stack.db.query(
                "SELECT c.phone, count(t.id) FROM callback_tasks t "
                "JOIN contacts c ON c.id = t.contact_id GROUP BY c.phone"
            )
        )
        statuses = [status for _, status, _ in self.webhooks.entries]
        latencies = sorted(seconds for _, _, seconds in self.webhooks.entries)

        # A caller qualifies by design (keypad, anxious words) or because the comment reader
        # flagged something that opens a callback; either way it must be exactly one task.
        def qualifies(phone: str) -> bool:
            read = flags.get(phone, set())
            return "opt_out" not in read and (
                self.callers[phone].callback or bool(read & OPENING_LABELS)
            )

        qualifying = [p for p in self.callers if qualifies(p)]
        others = [p for p in self.callers if not qualifies(p)]
        content = [p for p, k in self.callers.items() if not k.callback]
        flagged_content = [p for p in content if flags.get(p, set()) & OPENING_LABELS]
        analysed = [r for r in recordings if r[1] == "analysed"]
        once = [r for r in recordings if downloads.get(r[0], 0) == 1]
        summary: dict[str, Any] = {
            "calls": self.calls,
            "calls_completed": self.calls - len(self.failed_calls),
            "calls_seconds": round(calls_took, 1),
            "settle_seconds": round(settle_took, 1),
            "webhooks": len(statuses),
            "http_5xx": sum(1 for s in statuses if s is not None and s >= 500),
            "no_answer": sum(1 for s in statuses if s is None),
            "latency_ms": {
                "p50": round(1000 * statistics.median(latencies), 1),
                "p95": round(1000 * percentile(latencies, 95), 1),
                "p99": round(1000 * percentile(latencies, 99), 1),
                "max": round(1000 * latencies[-1], 1),
            },
            "recordings": len(recordings),
            "recordings_analysed": len(analysed),
            "downloaded_once": len(once),
            "downloads_max": max(downloads.values(), default=0),
            "refetched_after_kill": len(refetched),
            "qualifying_callers": len(qualifying),
            "qualifying_with_one_task": sum(1 for p in qualifying if tasks.get(p) == 1),
            "other_callers": len(others),
            "others_with_a_task": sum(1 for p in others if tasks.get(p, 0) > 0),
            "content_callers": len(content),
            "content_callers_flagged_by_reader": len(flagged_content),
            "worker_killed_job": faults.killed_job,
            "recovery_seconds": round(faults.recovered_after, 1)
            if faults.recovered_after is not None
            else None,
            "redis_down_seconds": round(faults.redis_down_seconds or 0, 1),
            "abandoned_jobs_retried": self.stack.count_in_logs("was abandoned by its worker"),
            "notes": faults.notes + self.failed_calls[:10] + self.unfinished()[:10],
        }
        summary["passed"] = passed(summary)
        return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server to create a DB on")
    parser.add_argument("--settle", type=float, default=900, help="max wait after the calls")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--logs", type=Path, help="copy the processes' logs here")
    args = parser.parse_args()
    if not postgres_reachable(args.postgres):
        print(f"the soak needs a PostgreSQL server: none answers at {args.postgres}")
        return 2
    faults = Faults(kill_at_call=max(2, args.calls * 3 // 10), redis_at_call=args.calls * 6 // 10)
    print(
        f"== soak: {args.calls} calls ({args.concurrency} at a time), gunicorn + 2 workers +"
        f" scheduler, PostgreSQL + Redis; SIGKILL a worker after {faults.kill_at_call} calls,"
        f" restart Redis after {faults.redis_at_call}",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as tmp,
        running_stack(Path(tmp), postgres=args.postgres) as stack,
    ):
        soak = Soak(stack, args.calls, args.concurrency)
        injector = threading.Thread(target=soak.inject, args=(faults,), daemon=True)
        injector.start()
        calls_took = soak.run_calls()
        injector.join(timeout=900)
        settle_started = time.monotonic()
        try:
            wait_for(soak.settled, args.settle, "every recording analysed", 1.0)
        except TimeoutError as exc:
            faults.notes.append(str(exc))
        summary = soak.report(faults, calls_took, time.monotonic() - settle_started)
        print_summary(summary)
        if not summary["passed"]:
            print(stack.tail(), file=sys.stderr)
        if args.logs:
            skip = shutil.ignore_patterns("instance", "redis")
            shutil.copytree(stack.workdir, args.logs, ignore=skip, dirs_exist_ok=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
