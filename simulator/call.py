"""A simulated call driven a turn at a time: start, answer each wait, hang up.

:class:`SimulatedCall` is the top layer of a call: it rings and answers, runs TwiML verbs
(:mod:`simulator.verbs`) until one waits for the caller, hands the driver (a script, a
terminal, a browser page) a :class:`~simulator.results.Turn`, and applies the caller's
next action. REST updates from another thread (redirect or end the call) are applied
between verbs. Between turns the call can be saved as a :class:`~simulator.state.CallState`
and carried on later, in another process, by a call rebuilt from it.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from simulator.actions import Action, HangUp
from simulator.dialing import UNANSWERED_STATUS
from simulator.line import CallerSettings
from simulator.results import CallResult, Turn
from simulator.state import CallSetup, CallState
from simulator.verbs import TwimlPlayer


class SimulatedCall(TwimlPlayer):
    """One call, driven a turn at a time (``start``, ``respond``, ``hang_up``) or by ``run``.

    Args:
        settings: the simulator placing the call (a
            :class:`~simulator.caller.CallerSimulator`).
        setup: how the call was placed.
    """

    def __init__(self, settings: CallerSettings, setup: CallSetup) -> None:
        super().__init__(settings, setup)
        self._interrupt: tuple[str, str | None, str] | None = None
        self._lock = threading.Lock()

    def start(self) -> Turn:
        """Ring, answer, fetch the voice URL and play it until input is needed."""
        self._progress("initiated", "initiated")
        if self.answer != "answered":
            if self.answer == "no-answer":
                self._progress("ringing", "ringing")
            self._end(UNANSWERED_STATUS[self.answer])
            return self._turn()
        self._progress("ringing", "ringing")
        self.status = "ringing" if self.direction == "inbound" else "in-progress"
        self._progress("answered", "in-progress")
        self._fetch(self.url, self.method, {})
        if not self.ended:
            self.status = "in-progress"
        self._advance()
        return self._turn()

    def respond(self, action: Action) -> Turn:
        """Answer the waiting ``<Gather>`` or ``<Record>`` with a caller action."""
        if self.ended:
            return self._turn()
        if self._take_interrupt():
            self._advance()
            return self._turn()
        verb, self._pending = self._pending, None
        self._fetches_without_input = 0
        if isinstance(action, HangUp) or verb is None:
            self._end("completed")
        elif verb.tag == "Gather":
            self._answer_gather(verb, action)
        else:
            self._answer_record(verb, action)
        self._advance()
        return self._turn()

    def hang_up(self) -> Turn:
        """The caller hangs up."""
        return self.respond(HangUp())

    def run(self, actions: Iterable[Action]) -> CallResult:
        """Start the call and answer each wait with the next action.

        When the actions run out while the call still waits for input, the caller hangs up.
        """
        script = iter(actions)
        turn = self.start()
        while not turn.ended:
            turn = self.respond(next(script, HangUp()))
        return self.result()

    def interrupt(self, *, redirect_url: str | None = None, method: str = "POST") -> None:
        """Apply a REST update from another thread: redirect the call, or end it.

        Args:
            redirect_url: new TwiML URL; when ``None`` the call is ended (completed).
            method: HTTP method for ``redirect_url``.
        """
        with self._lock:
            self._interrupt = ("redirect" if redirect_url else "end", redirect_url, method)

    def result(self) -> CallResult:
        """Summarise the call so far."""
        return CallResult(
            sid=self.sid,
            heard=list(self.heard),
            requests=list(self.requests),
            recordings=list(self.recordings),
            status=self.status,
            duration=self.duration,
            errors=list(self.errors),
            legs=list(self.legs),
        )

    def state(self) -> CallState:
        """The call's state as plain data, to save between turns and resume later."""
        with self._lock:
            interrupt = self._interrupt
        waiting = None if self._pending is None else self._verbs.index(self._pending)
        return CallState(
            setup=self.setup,
            answer=self.answer,
            status=self.status,
            ended=self.ended,
            elapsed=self.elapsed,
            started_at=self.started_at,
            heard=tuple(self.heard),
            recordings=tuple(self.recordings),
            errors=tuple(self.errors),
            requests=tuple(self.requests),
            document_url=self._doc_url,
            document=self._document,
            next_verb=self._next_verb,
            waiting_verb=waiting,
            sequence=self._sequence,
            held_callbacks=tuple(
                (kind, url, dict(params), method)
                for kind, url, params, method in self._held_callbacks
            ),
            interrupt=interrupt,
        )

    @classmethod
    def from_state(cls, settings: CallerSettings, state: CallState) -> SimulatedCall:
        """Rebuild a call saved with :meth:`state`; it carries on where it stood.

        Raises:
            ValueError: if the state's TwiML document or position is not valid.
        """
        try:
            # The TwiML document this call fetched before it was saved.
            verbs = list(ET.fromstring(state.document)) if state.document else []  # noqa: S314
            waiting = None if state.waiting_verb is None else verbs[state.waiting_verb]
        except (ET.ParseError, IndexError) as exc:
            raise ValueError(f"call state has no valid TwiML position: {exc}") from exc
        call = cls(settings, state.setup)
        call.answer = state.answer
        call.status = state.status
        call.ended = state.ended
        call.elapsed = state.elapsed
        call.started_at = state.started_at
        call.heard = list(state.heard)
        call.recordings = list(state.recordings)
        call.errors = list(state.errors)
        call.requests = list(state.requests)
        call._doc_url = state.document_url
        call._document = state.document
        call._verbs = verbs
        call._next_verb = state.next_verb
        call._pending = waiting
        call._sequence = state.sequence
        call._held_callbacks = [
            (kind, url, dict(params), method) for kind, url, params, method in state.held_callbacks
        ]
        call._interrupt = state.interrupt
        return call

    def _advance(self) -> None:
        """Run verbs until one waits for the caller or the call ends."""
        while not self.ended and self._pending is None:
            if self._take_interrupt():
                continue
            verb = self._take_verb()
            if verb is None:
                self.twiml_finished = True
                self._end("completed")  # no more verbs: Twilio hangs up
                break
            handler = self._VERBS.get(verb.tag)
            if handler is None:
                self.errors.append(f"unsupported verb <{verb.tag}>")
                continue
            handler(self, verb)

    def _take_interrupt(self) -> bool:
        with self._lock:
            interrupt, self._interrupt = self._interrupt, None
        if interrupt is None:
            return False
        kind, url, method = interrupt
        self._pending = None
        if kind == "end" or url is None:
            self._end("completed")
        else:
            self._fetches_without_input = 0
            self._fetch(url, method, {})
        return True

    def _turn(self) -> Turn:
        said, self._said = self._said, []
        pending = self._pending
        if self.ended or pending is None:
            return Turn(said, None, None, True)
        if pending.tag == "Gather":
            return Turn(said, "gather", pending.get("input", "dtmf"), False, pending.get("hints"))
        return Turn(said, "record", None, False)
