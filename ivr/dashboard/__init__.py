"""Manager dashboard: flagged recordings, trends, survey editor, try-a-survey, retention."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dashboard blueprint."""
