"""Twilio-shaped identifiers, timestamps and the API version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

API_VERSION = "2010-04-01"  # the REST API and webhooks this simulator speaks


def new_sid(prefix: str) -> str:
    """Return a new SID: a two-letter prefix and 32 hex digits, like ``CA…`` or ``RE…``."""
    return prefix + uuid.uuid4().hex


def rfc2822(moment: datetime | None = None) -> str:
    """Format a time the way Twilio does in JSON and callbacks (RFC 2822, +0000)."""
    return format_datetime((moment or datetime.now(UTC)).astimezone(UTC))
