"""Where ``<Record>`` audio goes: the sink protocol, and one for a fake served elsewhere."""

from __future__ import annotations

from typing import Protocol

import requests


class RecordingSink(Protocol):
    """Stores the audio of a ``<Record>``, as Twilio's recording storage does."""

    def store(self, account_sid: str, call_sid: str, wav: bytes) -> tuple[str, str, int]:
        """Store WAV audio; return (RecordingSid, RecordingUrl without extension, seconds)."""
        ...


class HttpRecordingSink:
    """Stores recordings in a fake Twilio served elsewhere, through ``POST /_fake/recordings``.

    Args:
        fake_base_url: where the fake is served, e.g. ``http://127.0.0.1:5099``.
        account_sid: account SID (basic auth, needed when the fake is not on loopback).
        auth_token: auth token.
        http: session to use (a new one when omitted).
    """

    def __init__(
        self,
        fake_base_url: str,
        account_sid: str,
        auth_token: str,
        http: requests.Session | None = None,
    ) -> None:
        self.url = fake_base_url.rstrip("/") + "/_fake/recordings"
        self.auth = (account_sid, auth_token)
        self.http = http or requests.Session()

    def store(self, account_sid: str, call_sid: str, wav: bytes) -> tuple[str, str, int]:
        """Upload the WAV; return (RecordingSid, RecordingUrl, duration in seconds).

        Raises:
            requests.HTTPError: if the fake refuses the recording.
        """
        response = self.http.post(
            self.url,
            data={"call_sid": call_sid},
            files={"file": ("recording.wav", wav, "audio/x-wav")},
            auth=self.auth,
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        return str(body["sid"]), str(body["url"]), int(body["duration"])
