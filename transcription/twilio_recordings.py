"""What Twilio knows about recordings, for the sweep to recover callbacks we never stored.

Twilio does not retry a recording status callback that failed (our database was down, the
request was lost), so the sweep asks instead: the recordings of a call, or one recording's
status. Both read the REST API through the configured client (the fake in local mode).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from twilio.base.exceptions import TwilioRestException

from core.twilio_rest import twilio_client

log = logging.getLogger(__name__)

READY = "completed"
GONE = ("failed", "absent", "deleted")  # Twilio will never have media for these


class TwilioUnavailable(Exception):
    """Twilio could not be asked right now; the next sweep asks again."""


@dataclass(frozen=True)
class TwilioRecording:
    sid: str
    call_sid: str | None
    status: str  # processing, completed, absent, failed, deleted (404)
    media_url: str | None
    duration: str | None

    @property
    def ready(self) -> bool:
        return self.status == READY

    @property
    def gone(self) -> bool:
        return self.status in GONE


def _media_url(instance: Any) -> str | None:
    """Where to download the media: Twilio's ``media_url`` or the resource URI without .json."""
    if getattr(instance, "media_url", None):
        return str(instance.media_url)
    uri = getattr(instance, "uri", None)
    if not uri:
        return None
    return current_app.config["TWILIO_API_BASE_URL"].rstrip("/") + str(uri).removesuffix(".json")


def _from_instance(instance: Any) -> TwilioRecording:
    return TwilioRecording(
        sid=str(instance.sid),
        call_sid=instance.call_sid,
        status=str(instance.status or "processing"),
        media_url=_media_url(instance),
        duration=None if instance.duration is None else str(instance.duration),
    )


def recordings_of_call(call_sid: str) -> list[TwilioRecording]:
    """Every recording Twilio holds for a call (newest first).

    Raises:
        TwilioUnavailable: Twilio refused or could not be reached.
    """
    try:
        found = twilio_client().recordings.list(call_sid=call_sid, limit=20)
    except TwilioRestException as exc:
        raise TwilioUnavailable(f"Twilio answered {exc.status}: {exc.msg}") from exc
    except Exception as exc:  # network trouble of any kind: ask again on the next sweep
        raise TwilioUnavailable(type(exc).__name__) from exc
    return [_from_instance(item) for item in found]


def recording(sid: str) -> TwilioRecording:
    """One recording's state; ``deleted`` when Twilio no longer has it.

    Raises:
        TwilioUnavailable: Twilio refused or could not be reached.
    """
    try:
        return _from_instance(twilio_client().recordings(sid).fetch())
    except TwilioRestException as exc:
        if exc.status == 404:
            return TwilioRecording(sid, None, "deleted", None, None)
        raise TwilioUnavailable(f"Twilio answered {exc.status}: {exc.msg}") from exc
    except Exception as exc:
        raise TwilioUnavailable(type(exc).__name__) from exc
