"""How the far end answers: a call's answer, and the legs ``<Dial>`` places."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from simulator.sids import new_sid

Answer = Literal["answered", "busy", "no-answer", "failed"]
# Final CallStatus (and DialCallStatus) for each way a leg can end before being bridged.
UNANSWERED_STATUS = {"busy": "busy", "no-answer": "no-answer", "failed": "failed"}


@dataclass(frozen=True)
class DialRequest:
    """A second leg that ``<Dial><Number>`` asks to place."""

    parent_call_sid: str
    account_sid: str
    number: str
    caller_id: str
    timeout: int
    url: str | None = None
    method: str = "POST"


@dataclass(frozen=True)
class DialOutcome:
    """How a dialled leg ended: ``status`` is answered, busy, no-answer or failed.

    ``caller_hung_up`` says the caller, not the dialled party, ended the bridged call: the
    ``<Dial>`` action is still requested (with ``CallStatus=completed``), but the call is
    over and its TwiML is never played.
    """

    status: Answer
    duration: int = 0
    call_sid: str = field(default_factory=lambda: new_sid("CA"))
    ring_seconds: int = 2
    caller_hung_up: bool = False


class DialHandler(Protocol):
    """Decides what happens when the application dials a number."""

    def __call__(self, request: DialRequest) -> DialOutcome:
        """Place the second leg and report how it ended."""
        ...


def answer_every_dial(request: DialRequest) -> DialOutcome:
    """Default dial handler: the number answers and talks for one second."""
    return DialOutcome("answered", duration=1)
