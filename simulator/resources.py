"""The fake's REST resources, shaped like Twilio's JSON: calls and recordings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.sids import API_VERSION, rfc2822
from simulator.webhooks import RecordedRequest

FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass
class FakeCall:
    """A call as the fake's REST API reports it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ("completed",)
    parent_call_sid: str | None = None
    status: str = "queued"
    duration: int | None = None
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    start_time: datetime | None = None
    end_time: datetime | None = None
    heard: list[str] = field(default_factory=list)
    webhooks: list[RecordedRequest] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Shape the call like Twilio's Call resource."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "parent_call_sid": self.parent_call_sid,
            "to": self.to,
            "to_formatted": self.to,
            "from": self.from_,
            "from_formatted": self.from_,
            "status": self.status,
            "direction": self.direction,
            "duration": None if self.duration is None else str(self.duration),
            "start_time": rfc2822(self.start_time) if self.start_time else None,
            "end_time": rfc2822(self.end_time) if self.end_time else None,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "api_version": API_VERSION,
            "answered_by": None,
            "caller_name": None,
            "forwarded_from": None,
            "group_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "trunk_sid": None,
            "uri": uri + ".json",
            "subresource_uris": {"recordings": uri + "/Recordings.json"},
        }


@dataclass
class FakeRecording:
    """A stored recording (audio kept in memory as WAV)."""

    sid: str
    account_sid: str
    call_sid: str
    wav: bytes
    duration: int
    media_url: str
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "completed"  # a test may set processing, absent or failed

    def to_json(self) -> dict[str, Any]:
        """Shape the recording like Twilio's Recording resource."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "call_sid": self.call_sid,
            "conference_sid": None,
            "api_version": API_VERSION,
            "channels": 1,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_created),
            "start_time": rfc2822(self.date_created),
            "duration": str(self.duration),
            "error_code": None,
            "encryption_details": None,
            "media_url": self.media_url,
            "price": None,
            "price_unit": "USD",
            "source": "RecordVerb",
            "status": self.status,
            "track": "both",
            "uri": uri + ".json",
            "subresource_uris": {
                "transcriptions": uri + "/Transcriptions.json",
                "add_on_results": uri + "/AddOnResults.json",
            },
        }
