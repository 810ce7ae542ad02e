"""`flask users create` refuses what cannot be a sign-in: a clear error and no user, never a
traceback (PostgreSQL refuses over-long values that SQLite keeps)."""

from __future__ import annotations

import pytest
from flask import Flask

from core.db import db
from core.models import Team, User

PASSWORD = "s3cret-pass"


def create(app: Flask, *args: str) -> tuple[int, str, BaseException | None]:
    result = app.test_cli_runner().invoke(
        args=["users", "create", *args, "--password", PASSWORD, "--role", "agent"]
    )
    return result.exit_code, result.output, result.exception


def users() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(User)) or 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["notanemail"], "e-mail address"),
        ([""], "e-mail address"),
        (["lee @example.com"], "e-mail address"),
        (["a" * 250 + "@example.com"], "e-mail address"),
        (["lee@example.com", "--team", "T" * 121], "team"),
        (["lee@example.com", "--name", "N" * 121], "name"),
        (["lee@example.com", "--phone", "call the desk"], "phone number"),
    ],
)
def test_a_malformed_user_is_refused_with_the_reason(
    app: Flask, args: list[str], said: str
) -> None:
    """A bad e-mail, an over-long team or name, or a phone that is no number: exit 1, why."""
    code, output, exception = create(app, *args)
    assert code == 1, output
    assert isinstance(exception, SystemExit)  # click's error, not a traceback
    assert said in output and "Error:" in output
    assert users() == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Team)) == 0


def test_the_agent_phone_is_kept_as_e164(app: Flask) -> None:
    """--phone "(415) 555-0100" is stored as +14155550100, the form click-to-call dials."""
    code, output, _ = create(app, "lee@example.com", "--phone", "(415) 555-0100")
    assert code == 0, output
    user = db.session.scalar(db.select(User).where(User.email == "lee@example.com"))
    assert user is not None and user.phone == "+14155550100"
