"""A simulated call as plain data: how it was placed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from simulator.dialing import Answer


@dataclass(frozen=True)
class CallSetup:
    """How a call was placed; fixed for the call's lifetime.

    Attributes:
        url: the voice URL the call requests first.
        from_: caller number.
        to: called number.
        direction: ``inbound``, ``outbound-api`` or ``outbound-dial``.
        sid: the CallSid.
        status_callback: URL for call-progress events.
        status_events: which of initiated, ringing, answered, completed to send.
        method: HTTP method for ``url``.
        status_callback_method: HTTP method for ``status_callback``.
        answer: whether the callee answers.
        parent_call_sid: set for a ``<Dial>`` child leg.
    """

    url: str
    from_: str
    to: str
    direction: str
    sid: str
    status_callback: str | None
    status_events: Sequence[str]
    method: str
    status_callback_method: str
    answer: Answer
    parent_call_sid: str | None
