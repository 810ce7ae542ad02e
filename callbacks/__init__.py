"""Callbacks: rules that open tasks, the SLA queue, dialing and the agent console."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console blueprint and the end-of-survey hook."""
