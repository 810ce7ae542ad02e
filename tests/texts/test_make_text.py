"""`make text`: a phone in another process texts the running app through its fake Twilio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from core.db import db
from core.models import CallSession, SurveyOutcome
from tests.conftest import API_TOKEN
from tests.test_newcomer import LAUNCHER, ROOT, launcher


def make_text(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make text ARGS=...` as the Makefile runs it, with no PORT of its own."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PORT", "PUBLIC_BASE_URL", "TWILIO_API_BASE_URL", "FLASK_APP"}
    }
    environ |= {"INSTANCE_PATH": str(instance), "API_TOKEN": API_TOKEN}
    return subprocess.run(
        [sys.executable, str(LAUNCHER), "text", *args],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_text_takes_a_text_survey_through_the_running_app(
    app: Flask, live_url: str, fake_twilio_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/consent, /survey, then replies: the phone sees each question and the goodbye."""
    monkeypatch.setitem(app.config, "CALLING_HOURS", "00:00-24:00")  # whatever the hour now
    port = str(urlsplit(live_url).port)
    launcher().write_run_file(tmp_path, {"PORT": port, "TWILIO_API_BASE_URL": fake_twilio_url})
    done = make_text(tmp_path, "--script", "/consent|/survey|9|4|yes|skip|no")
    assert "[permission to text recorded]" in done.stdout, done.stderr
    assert "[survey started]" in done.stdout, done.stdout + done.stderr
    assert "< Hello! Thanks for contacting us today." in done.stdout
    assert "< Thank you for your feedback. Goodbye." in done.stdout
    db.session.expire_all()
    session = db.session.scalar(db.select(CallSession).where(CallSession.channel == "sms"))
    assert session is not None and session.outcome is SurveyOutcome.COMPLETED
