"""Sign-in for agents, managers and admins (Flask-Login sessions, CSRF on forms)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, abort, current_app
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect
from redis.exceptions import RedisError

from core import phones
from core.db import db
from core.models import Role, Team, User
from core.redis_client import get_redis

log = logging.getLogger(__name__)

login_manager = LoginManager()
login_manager.login_view = "views.login"
login_manager.login_message = "Please sign in to continue."
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])

LOGIN_ATTEMPTS = 10  # per email and address, per window
LOGIN_WINDOW_SECONDS = 300


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    csrf.init_app(app)


EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")  # no spaces or controls
MAX_EMAIL = 254  # users.email
MAX_NAME = 120  # users.name and teams.name


def create_user(
    email: str,
    password: str,
    role: str,
    *,
    name: str | None = None,
    phone: str | None = None,
    team: str | None = None,
) -> User:
    """A person who can sign in.

    Raises:
        ValueError: a field that cannot be stored or used, or the e-mail is taken; checked
            here because PostgreSQL refuses an over-long value with an error, not a reason.
    """
    email = email.strip().lower()
    if not EMAIL.fullmatch(email) or len(email) > MAX_EMAIL:
        raise ValueError(
            f"{email[:60]!r} is not an e-mail address (at most {MAX_EMAIL} characters)"
        )
    if name is not None and len(name) > MAX_NAME:
        raise ValueError(f"the name must be at most {MAX_NAME} characters")
    if team is not None and len(team.strip()) > MAX_NAME:
        raise ValueError(f"the team's name must be at most {MAX_NAME} characters")
    if phone:
        phone = phones.normalise(phone)  # InvalidNumber (a ValueError) says why
    if db.session.scalar(db.select(User).where(User.email == email)) is not None:
        raise ValueError(f"a user with email {email} already exists")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    user = User(
        email=email,
        role=Role(role),
        name=name,
        phone=phone or None,
        team=find_or_create_team(team.strip() if team else None),
    )
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def find_or_create_team(name: str | None) -> Team | None:
    if not name:
        return None
    team = db.session.scalar(db.select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        db.session.add(team)
    return team


def authenticate(email: str, password: str) -> User | None:
    email = email.strip().lower()
    if not EMAIL.fullmatch(email) or len(email) > MAX_EMAIL:
        return None  # no user has it, and PostgreSQL refuses a NUL in a query
    user = db.session.scalar(db.select(User).where(User.email == email))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


class LocalAttempts:
    """Sign-in attempts counted in this process: the limit that still holds while Redis is down.

    Each web process counts on its own then, so the allowance is per process, not shared;
    that is looser than Redis but never unlimited, and sign-in keeps working.
    """

    MAX_KEYS = 10_000  # beyond this, expired windows are dropped (bounded memory)

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def count(self, key: str, window: float) -> int:
        """Count one attempt for ``key``; returns the attempts in its current window."""
        now = self.clock()
        with self._lock:
            started, attempts = self._windows.get(key, (now, 0))
            if now - started >= window:
                started, attempts = now, 0
            self._windows[key] = (started, attempts + 1)
            if len(self._windows) > self.MAX_KEYS:
                self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window}
            return attempts + 1


local_attempts = LocalAttempts()


def login_rate_limited(key: str) -> bool:
    """Count a sign-in attempt; True once the window's allowance is used up.

    Counted in Redis, shared by every web process; when Redis cannot be reached, counted
    in this process instead, so an outage neither blocks sign-in nor lifts the limit.
    """
    counter = f"login-attempts:{key}"
    try:
        redis = get_redis()
        attempts = int(redis.incr(counter))
        if attempts == 1:
            redis.expire(counter, LOGIN_WINDOW_SECONDS)
    except RedisError as exc:
        log.warning("Redis unreachable (%s): counting sign-in attempts in this process", exc)
        attempts = local_attempts.count(counter, LOGIN_WINDOW_SECONDS)
    return attempts > LOGIN_ATTEMPTS


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def roles_required(*roles: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
