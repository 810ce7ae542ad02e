"""How the far end answers: a call's answer, and the legs ``<Dial>`` places."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from simulator.actions import Action
from simulator.results import CallResult
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

    When the ``<Number url>`` names TwiML for the dialled party (a whisper, a screening
    question), an answered leg plays it before the two are bridged: ``leg_actions`` is what
    the dialled party does when it waits for them, ``leg`` what happened (what they heard,
    the requests made), and ``bridged`` is False when that TwiML hung up instead.
    """

    status: Answer
    duration: int = 0
    call_sid: str = field(default_factory=lambda: new_sid("CA"))
    ring_seconds: int = 2
    caller_hung_up: bool = False
    leg_actions: Sequence[Action] = ()
    leg: CallResult | None = None
    bridged: bool = True

    @property
    def connected(self) -> bool:
        """Answered and bridged to the caller."""
        return self.status == "answered" and self.bridged


class DialHandler(Protocol):
    """Decides what happens when the application dials a number."""

    def __call__(self, request: DialRequest) -> DialOutcome:
        """Place the second leg and report how it ended."""
        ...


def answer_every_dial(request: DialRequest) -> DialOutcome:
    """Default dial handler: the number answers and talks for one second."""
    return DialOutcome("answered", duration=1)
