"""Playwright driving Debian's chromium against the live server (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.db import db, utcnow
from core.models import CallSession, Role, User
from simulator.fake_state import FakeTwilio
from tests.dashboard.conftest import make_session
from tests.factories import PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (see make browser)"
        if os.environ.get("CI"):  # a green CI must mean the browser tests ran
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, app: Flask, live_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def sign_in(page: Any, user: User) -> None:
    """Sign in through the form, like a person."""
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def recordings_dir(app: Flask) -> Path:
    return Path(app.config["RECORDINGS_DIR"])


@pytest.fixture
def boss(app: Flask) -> User:
    return make_user(Role.MANAGER, email="manager@example.com")


DISTRESS = "I'm really scared, I can't cope with this any more and nobody calls me back."
NEGATIVE = "The service was terrible and the agent was rude. A total waste of my time."
CONTACT = "Please call me back tomorrow about the refund on my bill."


def seed_calls(recordings_dir: Path, fake_twilio: FakeTwilio) -> dict[str, CallSession]:
    """A week of calls with every kind of flag, some with callback tasks and attempts.

    Each call is placed on a given calendar day (UTC) and before now, whatever the hour the
    suite runs at: "N days ago minus a few hours" would slip onto the previous date after
    midnight and change what the date-filtered pages count.
    """
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def on_day(days_ago: int) -> datetime:
        return midnight - timedelta(days=days_ago) + (now - midnight) / 2

    calls = {
        "distress": make_session(
            phone="+14155550142",
            nps=2,
            csat=1,
            resolved=0,
            comment=DISTRESS,
            audio_dir=recordings_dir,
            twilio=fake_twilio,
            wants_callback=True,
            at=on_day(0),
        ),
        "negative": make_session(
            phone="+14155550143",
            nps=5,
            csat=2,
            comment=NEGATIVE,
            audio_dir=recordings_dir,
            twilio=fake_twilio,
            at=on_day(1),
        ),
        "contact": make_session(
            phone="+14155550144",
            nps=8,
            csat=4,
            resolved=1,
            comment=CONTACT,
            audio_dir=recordings_dir,
            twilio=fake_twilio,
            at=on_day(2),
        ),
        "pressed0": make_session(
            phone="+14155550145",
            nps=7,
            asked_for_human=True,
            wants_callback=True,
            at=on_day(3),
        ),
        "optout": make_session(phone="+14155550146", nps=9, opted_out=True, at=on_day(4)),
    }
    for day in range(7):
        for score in (10, 9, 9, 8, 7 if day % 2 else 10):
            make_session(
                nps=score,
                csat=5 if score >= 9 else 4,
                resolved=1,
                at=on_day(day),
            )
    _tasks(calls)
    return calls


def _tasks(calls: dict[str, CallSession]) -> None:
    try:
        from callbacks.models import AttemptStatus, CallbackAttempt, CallbackTask, TaskState
    except ImportError:  # pragma: no cover
        return
    agent = make_user(Role.AGENT, email="agent@example.com")
    plan = [
        (
            "distress",
            TaskState.CLOSED,
            10,
            6,
            "reached",
            "Customer was upset about a late refund; resolved.",
        ),
        ("negative", TaskState.CLOSED, 60, 95, "reached", "Apologised; credit applied."),
        ("pressed0", TaskState.OPEN, 60, None, None, None),
    ]
    for key, state, sla, first, outcome, notes in plan:
        s = calls[key]
        created = s.created_at + timedelta(minutes=3)
        task = CallbackTask(
            session_id=s.id,
            contact_id=s.contact_id,
            phone=s.from_number,
            timezone="America/New_York",
            scheduled_for=created,
            due_at=created + timedelta(minutes=sla),
            created_at=created,
            state=state,
            priority=3 if key == "distress" else 2,
            reasons=[{"code": key, "detail": f"{key} in survey", "session_id": s.id}],
            first_attempt_at=created + timedelta(minutes=first) if first else None,
            closed_at=created + timedelta(minutes=first + 8) if first else None,
            outcome=outcome,
            notes=notes,
        )
        db.session.add(task)
        db.session.flush()
        if first:
            db.session.add(
                CallbackAttempt(
                    task_id=task.id,
                    agent_id=agent.id,
                    status=AttemptStatus.COMPLETED,
                    outcome=outcome,
                    to_number=s.from_number,
                    agent_number="+14155550100",
                    created_at=created + timedelta(minutes=first),
                    ended_at=created + timedelta(minutes=first + 7),
                )
            )
    db.session.commit()
