"""A newcomer's path: `make call` reaches the port `make run` used, and signing in over plain
http with Secure cookies says what to change instead of a bare CSRF error."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask

from core.db import db
from core.models import CallSession, SurveyOutcome
from tests.conftest import CUSTOMER
from tests.factories import PASSWORD, make_user
from tests.sources import load_source

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "scripts" / "run_local.py"


def launcher() -> ModuleType:
    """scripts/run_local.py (a script, not a package) loaded as a module."""
    return load_source(LAUNCHER)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def make_call(instance: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`make call ARGS=...` as the Makefile runs it, with no PORT of its own."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PORT", "PUBLIC_BASE_URL", "TWILIO_API_BASE_URL", "FLASK_APP"}
    }
    environ |= {"INSTANCE_PATH": str(instance)} | env
    return subprocess.run(
        [sys.executable, str(LAUNCHER), "call", *args],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_call_reaches_the_port_make_run_used(
    app: Flask, live_url: str, fake_twilio_url: str, tmp_path: Path
) -> None:
    """With `make run` on another port, `make call` (no PORT given) surveys through it."""
    port = str(urlsplit(live_url).port)
    assert port != "5000"
    launcher().write_run_file(tmp_path, {"PORT": port, "TWILIO_API_BASE_URL": fake_twilio_url})
    done = make_call(tmp_path, "--script", "9#,4,1,2,2")
    assert "Thank you for your feedback. Goodbye." in done.stdout, done.stderr
    assert "LOCAL MODE" not in done.stderr  # `make run` already said so
    db.session.expire_all()
    session = db.session.scalar(db.select(CallSession).where(CallSession.from_number == CUSTOMER))
    assert session is not None and session.outcome is SurveyOutcome.COMPLETED


def test_make_call_says_when_make_run_is_not_running(tmp_path: Path) -> None:
    """Without a running `make run` the caller is told so, not just shown a connection error."""
    port = closed_port()
    done = make_call(tmp_path, "--script", "9#", PORT=str(port))
    assert "`make run` does not seem to be running" in done.stderr
    assert f"calling port {port} anyway" in done.stderr


def test_run_file_of_a_stopped_launcher_is_ignored(tmp_path: Path) -> None:
    """A run.json left by a killed `make run` does not send calls to its old port."""
    run_local = launcher()
    stopped = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    run_local.write_run_file(tmp_path, {"PORT": "5400"})
    path = tmp_path / run_local.RUN_FILE
    path.write_text(path.read_text().replace(str(os.getpid()), stopped.stdout.strip()))
    env, found = run_local.call_env({"INSTANCE_PATH": str(tmp_path)})
    assert found is False and "PORT" not in env


def test_make_call_target_runs_the_launcher() -> None:
    """The Makefile's call target goes through the launcher that reads run.json."""
    dry = subprocess.run(
        ["make", "-n", "call", "ARGS=--script 1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.search(r"scripts/run_local\.py call --script 1$", dry.stdout, re.M), dry.stdout


@pytest.fixture
def secure_cookies(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production default: session cookies only over https."""
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)


def sign_in_over_http(live_url: str, email: str) -> requests.Response:
    """A browser-like sign-in: requests, like a browser, keeps Secure cookies off plain http."""
    browser = requests.Session()
    page = browser.get(f"{live_url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return browser.post(
        f"{live_url}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=10,
    )


def test_sign_in_over_plain_http_says_how_to_fix_it(
    app: Flask, live_url: str, secure_cookies: None
) -> None:
    """Secure cookies over http: the page names SESSION_COOKIE_SECURE and https."""
    user = make_user(email="lee@example.com")
    answer = sign_in_over_http(live_url, user.email)
    assert answer.status_code == 400
    assert "SESSION_COOKIE_SECURE=false" in answer.text and "https" in answer.text
    assert "The CSRF session token is missing" not in answer.text
    assert 'value="lee@example.com"' in answer.text  # the form is kept, ready to retry


def test_sign_in_over_http_works_with_secure_cookies_off(app: Flask, live_url: str) -> None:
    """With SESSION_COOKIE_SECURE=false the same browser signs in."""
    user = make_user(email="lee@example.com")
    answer = sign_in_over_http(live_url, user.email)
    assert answer.status_code == 200 and urlsplit(answer.url).path == "/dashboard/"


def test_expired_form_is_explained(client: Any, app: Flask) -> None:
    """A sign-in post without its session (expired, cookies cleared) asks to sign in again."""
    answer = client.post("/login", data={"email": "lee@example.com", "password": "x"})
    assert answer.status_code == 400
    assert "The sign-in form expired" in answer.get_data(as_text=True)
