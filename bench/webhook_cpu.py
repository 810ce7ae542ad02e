"""Webhook CPU per request, in-process: survey start and answer against a bare Flask app.

The WSGI callables are called directly (no server, no sockets), each request signed as
Twilio signs it, so the figure is the CPU this process spends per request: far less noisy
on a shared machine than ``webhook_bench.py``'s throughput, and the part of a webhook the
code decides. On PostgreSQL the backends' CPU for the same requests (from ``/proc``: the
statements, the commit's WAL flush) is shown beside it. Rounds alternate start, answer
and bare; the median of each is shown.

    python bench/webhook_cpu.py [--database-url URL] [--requests N] [--rounds K]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench import server_cpu  # noqa: E402
from core.config import LOCAL_AUTH_TOKEN  # noqa: E402

BASE = "http://127.0.0.1:5000"
SURVEY = "/twilio/voice/survey"
CUSTOMER, COMPANY = "+15005550006", "+15005550001"
BARE_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/next" '
    'input="dtmf speech"><Say>How likely are you to recommend us?</Say></Gather></Response>'
)
WSGI = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def start_form(sid: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CUSTOMER, "To": COMPANY,
            "Direction": "inbound", "CallStatus": "in-progress"}  # fmt: skip


def environ(path: str, form: dict[str, str]) -> dict[str, Any]:
    """A signed POST as gunicorn would hand it to the app."""
    body = urlencode(form).encode()
    route, _, query = path.partition("?")
    signature = RequestValidator(LOCAL_AUTH_TOKEN).compute_signature(BASE + path, form)
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": route, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:5000", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_X_TWILIO_SIGNATURE": signature, "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.version": (1, 0), "wsgi.input_terminated": True,
    }  # fmt: skip


def call(app: WSGI, request: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []
    body = b"".join(app(request, lambda s, headers, exc=None: status.append(s)))
    if not status[0].startswith("200"):
        raise RuntimeError(f"{request['PATH_INFO']}: {status[0]} {body[:200]!r}")
    return status[0], body


def cpu_ms(
    app: WSGI, requests: list[dict[str, Any]], backends: bytes | None
) -> tuple[float, float]:
    """CPU ms per request of this process and of the database's backends (0 on SQLite)."""
    before = server_cpu.cpu_by_backend(backends)
    started = time.process_time()
    for request in requests:
        call(app, request)
    spent = time.process_time() - started
    database = server_cpu.spent(before, server_cpu.cpu_by_backend(backends))
    return spent * 1000 / len(requests), database * 1000 / len(requests)


def bare_app() -> WSGI:
    from flask import Flask, Response

    bare = Flask("bare")

    @bare.post(SURVEY)
    def survey() -> Response:
        return Response(BARE_TWIML, mimetype="text/xml")

    return bare


def product_app(database_url: str, work: Path) -> WSGI:
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(work / "instance"),
           "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "", "PUBLIC_BASE_URL": BASE,
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    flask = Path(sys.executable).parent / "flask"
    for args in (["db", "upgrade"], ["seed"]):
        subprocess.run([str(flask), "--app", "ivr", *args], env=env, cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
    os.environ.update(env)
    from ivr import create_app

    return create_app()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--requests", type=int, default=1000, help="per round and kind")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = args.requests, args.rounds
    with tempfile.TemporaryDirectory(prefix="webhook-cpu-") as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work / 'cpu.db'}"
        app = product_app(url, work)
        backends = server_cpu.backends(url) if url.startswith("postgres") else None
        bare = bare_app()
        _, first = call(app, environ(SURVEY, start_form("CA" + secrets.token_hex(16))))
        found = re.search(rb'<Gather[^>]* action="([^"]+)"', first)
        if not found:
            raise RuntimeError("no Gather in the survey start")
        answer = found.group(1).decode().replace("&amp;", "&")
        sids = ["CA" + secrets.token_hex(16) for _ in range((rounds + 1) * n)]
        starts = [environ(SURVEY, start_form(sid)) for sid in sids]
        answers = [environ(answer, {**start_form(sid), "Digits": "9"}) for sid in sids]
        bares = [environ(SURVEY, start_form(sid)) for sid in sids]
        figures: dict[str, list[tuple[float, float]]] = {"start": [], "answer": [], "bare": []}
        for r in range(rounds + 1):  # the first round warms up and is not counted
            part = slice(r * n, (r + 1) * n)
            measured = {
                "start": cpu_ms(app, starts[part], backends),
                "answer": cpu_ms(app, answers[part], backends),
                "bare": cpu_ms(bare, bares[part], None),
            }
            if r:
                for kind, ms in measured.items():
                    figures[kind].append(ms)
    bare_ms = statistics.median(ms for ms, _ in figures["bare"])
    print(f"CPU per request in-process, median of {rounds} rounds of {n}:")
    for kind, pairs in figures.items():
        values = [ms for ms, _ in pairs]
        ms = statistics.median(values)
        database = (f"; database backends {statistics.median(db for _, db in pairs):.3f} ms"
                    if backends and kind != "bare" else "")  # fmt: skip
        print(f"  {kind:6}: {ms:.3f} ms ({ms / bare_ms:.1f}x bare; rounds "
              f"{min(values):.3f}-{max(values):.3f}){database}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
