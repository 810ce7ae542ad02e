"""A simulated call driven a turn at a time: start, answer each wait, hang up.

:class:`SimulatedCall` is the top layer of a call: it rings and answers, runs TwiML verbs
(:mod:`simulator.verbs`) until one waits for the caller, hands the driver (a script, a
terminal, a browser page) a :class:`~simulator.results.Turn`, and applies the caller's
next action. REST updates from another thread (redirect or end the call) are applied
between verbs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from simulator.actions import Action, HangUp
from simulator.dialing import UNANSWERED_STATUS
from simulator.line import CallerSettings
from simulator.results import CallResult, Turn
from simulator.state import CallSetup
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
        )

    def _advance(self) -> None:
        """Run verbs until one waits for the caller or the call ends."""
        while not self.ended and self._pending is None:
            if self._take_interrupt():
                continue
            if not self._verbs:
                self._end("completed")  # no more verbs: Twilio hangs up
                break
            verb = self._verbs.popleft()
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
