"""A caller simulator that follows TwiML the way Twilio does.

It knows nothing about any particular application: it requests the voice URL, reads the
TwiML, "hears" ``<Say>``/``<Play>``, and when a ``<Gather>`` or ``<Record>`` waits for
input it asks the driver (a script, a terminal, a browser page) what the caller does.
Time is virtual: timeouts and pauses add to the call's duration but never sleep.

:class:`CallerSimulator` places calls; each is a :class:`~simulator.call.SimulatedCall`,
built in layers: :mod:`simulator.line` (identity, requests, callbacks),
:mod:`simulator.verbs` (TwiML) and :mod:`simulator.call` (the turn loop). The names a
driver needs are importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import requests

from simulator.actions import Action, HangUp, Press, RecordAudio, Silent, Speak
from simulator.call import SimulatedCall
from simulator.dialing import (
    Answer,
    DialHandler,
    DialOutcome,
    DialRequest,
    answer_every_dial,
)
from simulator.results import CallRecording, CallResult, Turn
from simulator.sids import new_sid
from simulator.sinks import RecordingSink
from simulator.state import CallSetup, CallState
from simulator.webhooks import RecordedRequest, WebhookSender

__all__ = [
    "Action",
    "Answer",
    "CallRecording",
    "CallResult",
    "CallSetup",
    "CallState",
    "CallerSimulator",
    "DialHandler",
    "DialOutcome",
    "DialRequest",
    "HangUp",
    "Press",
    "RecordAudio",
    "RecordedRequest",
    "RecordingSink",
    "Silent",
    "SimulatedCall",
    "Speak",
    "Turn",
    "answer_every_dial",
]


class CallerSimulator:
    """Places simulated calls against a TwiML application.

    Args:
        account_sid: the AccountSid sent with every request.
        auth_token: signs every request (``X-Twilio-Signature``).
        recordings: where ``<Record>`` audio goes.
        http: session used for webhooks (a new one when omitted).
        public_base_url: scheme and host the app is reachable at from Twilio's side.
        duplicate_callbacks: send every status and recording callback twice.
        reorder_callbacks: hold the call-progress callbacks and deliver them in reverse
            order when the call ends.
        dial_handler: decides the outcome of ``<Dial>`` legs.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        recordings: RecordingSink,
        http: requests.Session | None = None,
        public_base_url: str | None = None,
        duplicate_callbacks: bool = False,
        reorder_callbacks: bool = False,
        dial_handler: DialHandler | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.recordings = recordings
        self.sender = WebhookSender(auth_token, http or requests.Session(), public_base_url)
        self.duplicate_callbacks = duplicate_callbacks
        self.reorder_callbacks = reorder_callbacks
        self.dial_handler: DialHandler = dial_handler or answer_every_dial

    def call(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        direction: str = "inbound",
        call_sid: str | None = None,
        status_callback: str | None = None,
        status_events: Sequence[str] = ("completed",),
        method: str = "POST",
        status_callback_method: str = "POST",
        answer: Answer = "answered",
        parent_call_sid: str | None = None,
    ) -> SimulatedCall:
        """Prepare a call; drive it with ``start``/``respond`` or ``run``.

        Args:
            url: the voice URL the call requests first.
            from_: caller number. to: called number.
            direction: ``inbound``, ``outbound-api`` or ``outbound-dial``.
            call_sid: the CallSid to use (a new one when omitted).
            status_callback: URL for call-progress events.
            status_events: which of initiated, ringing, answered, completed to send.
            method: HTTP method for ``url``.
            status_callback_method: HTTP method for ``status_callback``.
            answer: whether the callee answers; otherwise the call ends unanswered
                without requesting ``url``.
            parent_call_sid: set for a ``<Dial>`` child leg.
        """
        setup = CallSetup(
            url=url,
            from_=from_,
            to=to,
            direction=direction,
            sid=call_sid or new_sid("CA"),
            status_callback=status_callback,
            status_events=tuple(status_events),
            method=method,
            status_callback_method=status_callback_method,
            answer=answer,
            parent_call_sid=parent_call_sid,
        )
        return SimulatedCall(self, setup)

    def play_leg(
        self, request: DialRequest, outcome: DialOutcome, url: str | None = None
    ) -> DialOutcome:
        """Play a ``<Number url>``'s TwiML to the party that answered, as Twilio does before
        it bridges them to the caller (a whisper, or a screening question).

        The leg's requests are signed like any other. The parties are bridged when the TwiML
        runs out of verbs; a ``<Hangup>`` (or the dialled party hanging up) screens the call
        out: the ``<Dial>`` then ends unbridged.

        Args:
            request: the dialled leg (``request.url`` is the TwiML to play).
            outcome: how the dial handler said the leg was answered; its ``leg_actions``
                answer the leg's ``<Gather>``s.
            url: where to request the TwiML, when not ``request.url`` itself.
        """
        leg = self.call(
            url or request.url or "",
            from_=request.caller_id,
            to=request.number,
            direction="outbound-dial",
            call_sid=outcome.call_sid,
            method=request.method,
            status_events=(),
            parent_call_sid=request.parent_call_sid,
        )
        result = leg.run(outcome.leg_actions)
        bridged = leg.twiml_finished and not result.errors
        talk = outcome.duration if bridged else 0
        return replace(outcome, leg=result, bridged=bridged, duration=talk + result.duration)

    def resume(self, state: CallState) -> SimulatedCall:
        """Carry on a call saved with :meth:`SimulatedCall.state`, where it stood.

        The call continues exactly as it would have without the pause, provided this
        simulator is configured like the one that placed it (same account, recording
        sink, callback quirks and dial handler).

        Raises:
            ValueError: if the state's TwiML document or position is not valid.
        """
        return SimulatedCall.from_state(self, state)
