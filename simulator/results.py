"""What a simulated call reports: each turn, its recordings, and the finished call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from simulator.webhooks import RecordedRequest


@dataclass
class Turn:
    """What happened since the last turn, and what the call waits for now.

    Attributes:
        said: ``<Say>`` texts (and ``[play URL]``) heard since the last turn.
        waiting_for: ``gather``, ``record`` or ``None`` (ended).
        gather_input: the waiting ``<Gather input>`` (``dtmf``, ``speech``, ``dtmf speech``).
        ended: whether the call is over.
        hints: the waiting ``<Gather hints>``.
    """

    said: list[str]
    waiting_for: Literal["gather", "record"] | None
    gather_input: str | None
    ended: bool
    hints: str | None = None


@dataclass(frozen=True)
class CallRecording:
    """A recording made by ``<Record>`` during the call."""

    sid: str
    url: str
    duration: int


@dataclass
class CallResult:
    """Everything observable about a finished call."""

    sid: str
    heard: list[str]
    requests: list[RecordedRequest]
    recordings: list[CallRecording]
    status: str
    duration: int
    errors: list[str]
    # Dialled legs that played their <Number url> TwiML: what each answering party heard.
    legs: list[CallResult] = field(default_factory=list)

    @property
    def final_status(self) -> str:
        """The CallStatus the call ended with (same as ``status``)."""
        return self.status
