"""Sign-in for agents, managers and admins (Flask-Login sessions, CSRF on forms)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, abort, current_app
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect

from core.db import db
from core.models import Role, Team, User

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


def create_user(
    email: str,
    password: str,
    role: str,
    *,
    name: str | None = None,
    phone: str | None = None,
    team: str | None = None,
) -> User:
    email = email.strip().lower()
    if db.session.scalar(db.select(User).where(User.email == email)) is not None:
        raise ValueError(f"a user with email {email} already exists")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    user = User(
        email=email, role=Role(role), name=name, phone=phone, team=find_or_create_team(team)
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
    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def login_rate_limited(key: str) -> bool:
    """Count a sign-in attempt; True once the window's allowance is used up."""
    from core.redis_client import get_redis

    redis = get_redis()
    counter = f"login-attempts:{key}"
    attempts = int(redis.incr(counter))
    if attempts == 1:
        redis.expire(counter, LOGIN_WINDOW_SECONDS)
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
