"""One call as the application sees it on the wire: who calls whom, and what is sent.

:class:`CallLine` is the bottom layer of a simulated call. It holds the call's identity
and status, builds the parameters Twilio sends with every request, logs each request,
and sends call-progress, recording and dial-leg callbacks (held back to be delivered in
reverse, or doubled, when the simulator is asked to misbehave like that). The TwiML
layer (:mod:`simulator.verbs`) and the turn loop (:mod:`simulator.call`) build on it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Protocol

from simulator.dialing import DialHandler, DialOutcome, DialRequest
from simulator.sids import API_VERSION, rfc2822
from simulator.sinks import RecordingSink
from simulator.state import CallSetup, HeldCallback
from simulator.webhooks import RecordedRequest, WebhookSender


class CallerSettings(Protocol):
    """What every call placed by one :class:`~simulator.caller.CallerSimulator` shares."""

    account_sid: str
    recordings: RecordingSink
    sender: WebhookSender
    duplicate_callbacks: bool
    reorder_callbacks: bool
    dial_handler: DialHandler

    def play_leg(
        self, request: DialRequest, outcome: DialOutcome, url: str | None = None
    ) -> DialOutcome:
        """Play a ``<Number url>``'s TwiML to the party that answered a ``<Dial>`` leg."""
        ...


class CallLine:
    """A call's identity, status and outgoing requests.

    Args:
        settings: the simulator placing the call.
        setup: how the call was placed.
    """

    def __init__(self, settings: CallerSettings, setup: CallSetup) -> None:
        self.sim = settings
        self.setup = setup
        self.sid = setup.sid
        self.url = setup.url
        self.from_ = setup.from_
        self.to = setup.to
        self.direction = setup.direction
        self.method = setup.method
        self.answer = setup.answer
        self.parent_call_sid = setup.parent_call_sid
        self.status_callback = setup.status_callback
        self.status_callback_method = setup.status_callback_method
        self.status_events = {event.strip() for event in setup.status_events}
        self.requests: list[RecordedRequest] = []
        self.status = "queued"
        self.ended = False
        self.elapsed = 0.0  # virtual seconds since the call was answered
        self.started_at = datetime.now(UTC)
        self._sequence = 0
        self._held_callbacks: list[HeldCallback] = []

    @property
    def duration(self) -> int:
        """Whole seconds since answer (0 for a call never answered)."""
        if self.answer != "answered":
            return 0
        return max(1, math.ceil(self.elapsed))

    def _params(self) -> dict[str, str]:
        params = {
            "CallSid": self.sid,
            "AccountSid": self.sim.account_sid,
            "From": self.from_,
            "To": self.to,
            "Caller": self.from_,
            "Called": self.to,
            "CallStatus": self.status,
            "Direction": self.direction,
            "ApiVersion": API_VERSION,
        }
        if self.parent_call_sid:
            params["ParentCallSid"] = self.parent_call_sid
        return params

    def _send(self, kind: str, url: str, params: dict[str, str], method: str) -> RecordedRequest:
        record = self.sim.sender.send(kind, url, params, method)
        self.requests.append(record)
        return record

    def _callback(
        self, kind: str, url: str, params: dict[str, str], method: str, *, hold: bool
    ) -> None:
        """Send a status or recording callback, held back or doubled when asked."""
        if hold and self.sim.reorder_callbacks:
            self._held_callbacks.append((kind, url, params, method))
            return
        for _ in range(2 if self.sim.duplicate_callbacks else 1):
            self._send(kind, url, params, method)

    def _progress_fields(self, call_status: str, sequence: int) -> dict[str, str]:
        return {
            "CallStatus": call_status,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(sequence),
            "Timestamp": rfc2822(self._now()),
        }

    def _progress(self, event: str, call_status: str) -> None:
        """Send one call-progress event if it was asked for."""
        if not self.status_callback or event not in self.status_events:
            return
        params = self._params() | self._progress_fields(call_status, self._sequence)
        self._sequence += 1
        if event == "completed":
            params["CallDuration"] = str(self.duration)
        self._callback(
            "status", self.status_callback, params, self.status_callback_method, hold=True
        )

    def _end(self, status: str) -> None:
        """End the call: the final status, its progress event, then any held callbacks."""
        if self.ended:
            return
        self.ended = True
        self.status = status
        self._progress("completed", status)
        held, self._held_callbacks = self._held_callbacks, []
        for kind, url, params, method in reversed(held):
            for _ in range(2 if self.sim.duplicate_callbacks else 1):
                self._send(kind, url, params, method)

    def _now(self) -> datetime:
        return self.started_at + timedelta(seconds=self.elapsed)
