"""A simulated call as plain data: how it was placed, and where it stands between turns.

:class:`CallState` is what :meth:`SimulatedCall.state() <simulator.call.SimulatedCall.state>`
returns and :meth:`CallerSimulator.resume() <simulator.caller.CallerSimulator.resume>`
takes back: a call saved between two turns (say, in Redis between two HTTP requests)
carries on exactly as if it had never stopped. It holds no live objects, only values
that :meth:`CallState.to_json` turns into JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from simulator.dialing import Answer
from simulator.results import CallRecording
from simulator.webhooks import RecordedRequest

FORMAT = 1  # bump when the JSON shape changes; older states are then refused
# A callback held back until the call ends: (kind, url, params, method).
HeldCallback = tuple[str, str, dict[str, str], str]
# A REST update waiting to be applied: ("redirect" or "end", url, method).
Interrupt = tuple[str, str | None, str]


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


@dataclass(frozen=True)
class CallState:
    """Everything a simulated call needs to carry on, as plain values.

    The simulator's own settings (credentials, recording sink, callback quirks, dial
    handler) are not part of it: resume with a simulator configured like the first. Nor
    is what a turn uses only while it runs (the text heard since the turn began, the
    count of documents fetched without input): between turns both are empty.

    Attributes:
        setup: how the call was placed.
        answer: how the callee answered (``<Reject>`` turns a call busy or no-answer).
        status: the current CallStatus.
        ended: whether the call is over.
        elapsed: virtual seconds since answer.
        started_at: when the call started; callback timestamps count from it.
        heard: everything the caller heard so far.
        recordings: recordings made by ``<Record>``.
        errors: application errors and unsupported verbs met.
        requests: every request sent so far, with the responses (may be dropped to save
            space: the call does not read them).
        document_url: URL of the current TwiML document; relative URLs resolve against it.
        document: the current TwiML document's text (empty when there is none).
        next_verb: index of the next verb of ``document`` to run.
        waiting_verb: index of the ``<Gather>`` or ``<Record>`` waiting for the caller.
        sequence: the next call-progress ``SequenceNumber``.
        held_callbacks: callbacks held back until the call ends (``reorder_callbacks``).
        interrupt: a REST update not yet applied.
    """

    setup: CallSetup
    answer: Answer
    status: str
    ended: bool
    elapsed: float
    started_at: datetime
    heard: tuple[str, ...]
    recordings: tuple[CallRecording, ...]
    errors: tuple[str, ...]
    requests: tuple[RecordedRequest, ...]
    document_url: str
    document: str
    next_verb: int
    waiting_verb: int | None
    sequence: int
    held_callbacks: tuple[HeldCallback, ...]
    interrupt: Interrupt | None

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-serialisable values (``json.dumps`` takes it as is)."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        return {"format": FORMAT, **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallState:
        """Rebuild a state from :meth:`to_json` output (after a JSON round trip).

        Raises:
            ValueError: if ``data`` is not a call state of this format.
        """
        if data.get("format") != FORMAT:
            raise ValueError(f"not a call state of format {FORMAT}")
        try:
            setup = dict(data["setup"])
            setup["status_events"] = tuple(setup["status_events"])
            return cls(
                setup=CallSetup(**setup),
                answer=data["answer"],
                status=str(data["status"]),
                ended=bool(data["ended"]),
                elapsed=float(data["elapsed"]),
                started_at=datetime.fromisoformat(data["started_at"]),
                heard=tuple(data["heard"]),
                recordings=tuple(CallRecording(**item) for item in data["recordings"]),
                errors=tuple(data["errors"]),
                requests=tuple(RecordedRequest(**item) for item in data["requests"]),
                document_url=str(data["document_url"]),
                document=str(data["document"]),
                next_verb=int(data["next_verb"]),
                waiting_verb=None if data["waiting_verb"] is None else int(data["waiting_verb"]),
                sequence=int(data["sequence"]),
                held_callbacks=tuple(
                    (str(kind), str(url), dict(params), str(method))
                    for kind, url, params, method in data["held_callbacks"]
                ),
                interrupt=_interrupt(data["interrupt"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed call state: {exc!r}") from exc


def _interrupt(value: Sequence[Any] | None) -> Interrupt | None:
    if value is None:
        return None
    kind, url, method = value
    return str(kind), None if url is None else str(url), str(method)
