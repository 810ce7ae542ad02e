"""A caller simulator that follows TwiML the way Twilio does.

It knows nothing about any particular application: it requests the voice URL, reads the
TwiML, "hears" ``<Say>``/``<Play>``, and when a ``<Gather>`` or ``<Record>`` waits for
input it asks the driver (a script, a terminal, a browser page) what the caller does.
Time is virtual: timeouts and pauses add to the call's duration but never sleep.
"""

from __future__ import annotations

import math
import threading
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import requests

from simulator.actions import Action, HangUp, Press, RecordAudio, Silent, Speak
from simulator.audio import truncate_wav, wav_seconds
from simulator.sids import new_sid, rfc2822
from simulator.webhooks import RecordedRequest, WebhookSender, resolve_url

__all__ = [
    "Action",
    "CallRecording",
    "CallResult",
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

API_VERSION = "2010-04-01"
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
# Twilio stops following a chain of documents that never waits for the caller.
MAX_FETCHES_WITHOUT_INPUT = 50
RECORD_FINISH_KEYS = "1234567890*#"
Answer = Literal["answered", "busy", "no-answer", "failed"]
# Final CallStatus (and DialCallStatus) for each way a leg can end before being bridged.
UNANSWERED_STATUS = {"busy": "busy", "no-answer": "no-answer", "failed": "failed"}


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

    @property
    def final_status(self) -> str:
        """The CallStatus the call ended with (same as ``status``)."""
        return self.status


class RecordingSink(Protocol):
    """Stores the audio of a ``<Record>``, as Twilio's recording storage does."""

    def store(self, account_sid: str, call_sid: str, wav: bytes) -> tuple[str, str, int]:
        """Store WAV audio; return (RecordingSid, RecordingUrl without extension, seconds)."""
        ...


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
    """How a dialled leg ended: ``status`` is answered, busy, no-answer or failed."""

    status: Answer
    duration: int = 0
    call_sid: str = field(default_factory=lambda: new_sid("CA"))
    ring_seconds: int = 2


class DialHandler(Protocol):
    """Decides what happens when the application dials a number."""

    def __call__(self, request: DialRequest) -> DialOutcome:
        """Place the second leg and report how it ended."""
        ...


def answer_every_dial(request: DialRequest) -> DialOutcome:
    """Default dial handler: the number answers and talks for one second."""
    return DialOutcome("answered", duration=1)


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
        return SimulatedCall(
            self,
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


class SimulatedCall:
    """One call, driven a turn at a time (``start``, ``respond``, ``hang_up``) or by ``run``."""

    def __init__(
        self,
        simulator: CallerSimulator,
        *,
        url: str,
        from_: str,
        to: str,
        direction: str,
        sid: str,
        status_callback: str | None,
        status_events: tuple[str, ...],
        method: str,
        status_callback_method: str,
        answer: Answer,
        parent_call_sid: str | None,
    ) -> None:
        self.sim = simulator
        self.sid = sid
        self.url = url
        self.from_ = from_
        self.to = to
        self.direction = direction
        self.method = method
        self.answer = answer
        self.parent_call_sid = parent_call_sid
        self.status_callback = status_callback
        self.status_callback_method = status_callback_method
        self.status_events = {event.strip() for event in status_events}
        self.heard: list[str] = []
        self.requests: list[RecordedRequest] = []
        self.recordings: list[CallRecording] = []
        self.errors: list[str] = []
        self.status = "queued"
        self.ended = False
        self.elapsed = 0.0  # virtual seconds since the call was answered
        self.started_at = datetime.now(UTC)
        self._doc_url = url
        self._verbs: deque[ET.Element] = deque()
        self._pending: ET.Element | None = None
        self._said: list[str] = []
        self._fetches_without_input = 0
        self._sequence = 0
        self._held_callbacks: list[tuple[str, str, dict[str, str], str]] = []
        self._interrupt: tuple[str, str | None, str] | None = None
        self._lock = threading.Lock()

    # --- driving the call -------------------------------------------------------------

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

    @property
    def duration(self) -> int:
        """Whole seconds since answer (0 for a call never answered)."""
        if self.answer != "answered":
            return 0
        return max(1, math.ceil(self.elapsed))

    # --- TwiML execution ---------------------------------------------------------------

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

    def _say(self, verb: ET.Element) -> None:
        text = " ".join((verb.text or "").split())
        self._hear(text)
        self.elapsed += 0.5 + 0.3 * len(text.split())

    def _play(self, verb: ET.Element) -> None:
        if verb.get("digits"):
            self._hear(f"[play digits {verb.get('digits')}]")
        else:
            self._hear(f"[play {resolve_url(self._doc_url, verb.text or '')}]")
        self.elapsed += 1

    def _pause(self, verb: ET.Element) -> None:
        self.elapsed += _int(verb.get("length"), 1)

    def _gather(self, verb: ET.Element) -> None:
        for child in verb:
            if child.tag in {"Say", "Play", "Pause"}:
                self._VERBS[child.tag](self, child)
        self._pending = verb

    def _record(self, verb: ET.Element) -> None:
        self._pending = verb

    def _redirect(self, verb: ET.Element) -> None:
        self._fetch(resolve_url(self._doc_url, verb.text or ""), verb.get("method", "POST"), {})

    def _hangup(self, verb: ET.Element) -> None:
        self._end("completed")

    def _reject(self, verb: ET.Element) -> None:
        # A rejected call is never answered: busy for reason="busy", else no-answer.
        self.elapsed = 0
        self.answer = "busy" if verb.get("reason") == "busy" else "no-answer"
        self._end(self.answer)

    def _answer_gather(self, verb: ET.Element, action: Action) -> None:
        inputs = set(verb.get("input", "dtmf").split())
        timeout = _int(verb.get("timeout"), 5)
        params: dict[str, str] | None = None
        if isinstance(action, Press) and "dtmf" in inputs:
            digits, finished_on = _collect_digits(
                action.digits, verb.get("finishOnKey", "#"), _int(verb.get("numDigits"), 0)
            )
            if digits:
                params = {"Digits": digits, "FinishedOnKey": finished_on}
            if not finished_on and len(digits) != _int(verb.get("numDigits"), 0):
                self.elapsed += timeout  # Twilio waits out the timeout before submitting
        elif isinstance(action, Speak) and action.text.strip() and "speech" in inputs:
            params = {"SpeechResult": action.text, "Confidence": f"{action.confidence:.8f}"}
        if params is None:
            # No usable input: the Gather times out.
            self.elapsed += timeout
            if verb.get("actionOnEmptyResult", "false").lower() != "true":
                return  # fall through to the next verb
            params = {}
        action_url = resolve_url(self._doc_url, verb.get("action") or self._doc_url)
        self._fetch(action_url, verb.get("method", "POST"), params)

    def _answer_record(self, verb: ET.Element, action: Action) -> None:
        timeout = _int(verb.get("timeout"), 5)
        callback = verb.get("recordingStatusCallback")
        events = set(
            verb.get("recordingStatusCallbackEvent", "completed").replace(",", " ").split()
        )
        if not isinstance(action, RecordAudio):
            # An empty recording: Twilio skips the action URL and goes to the next verb.
            self.elapsed += timeout
            if callback and "absent" in events:
                self._recording_callback(verb, new_sid("RE"), "", 0, "absent")
            return
        wav = action.wav_bytes()
        max_length = _int(verb.get("maxLength"), 3600) or 3600
        if wav_seconds(wav) > max_length:
            wav = truncate_wav(wav, max_length)
        finish_keys = verb.get("finishOnKey", RECORD_FINISH_KEYS)
        hung_up = action.finish_key == "hangup"
        digits: str | None = None
        if hung_up:
            digits = "hangup"
        elif action.finish_key and action.finish_key in finish_keys:
            digits = action.finish_key
        else:
            self.elapsed += timeout  # silence ends the recording
        sid, url, seconds = self.sim.recordings.store(self.sim.account_sid, self.sid, wav)
        self.elapsed += seconds
        self.recordings.append(CallRecording(sid, url, seconds))
        if callback and "in-progress" in events:
            self._recording_callback(verb, sid, url, seconds, "in-progress")
        params = {"RecordingUrl": url, "RecordingSid": sid, "RecordingDuration": str(seconds)}
        if digits is not None:
            params["Digits"] = digits
        action_url = resolve_url(self._doc_url, verb.get("action") or self._doc_url)
        if hung_up:
            # Twilio still posts to the action URL, but the call is over: TwiML is ignored.
            self.status = "completed"
            self._send("voice", action_url, self._params() | params, verb.get("method", "POST"))
        else:
            self._fetch(action_url, verb.get("method", "POST"), params)
        if callback and "completed" in events:
            self._recording_callback(verb, sid, url, seconds, "completed")
        if hung_up:
            self._end("completed")

    def _recording_callback(
        self, verb: ET.Element, sid: str, url: str, seconds: int, status: str
    ) -> None:
        params = {
            "AccountSid": self.sim.account_sid,
            "CallSid": self.sid,
            "RecordingSid": sid,
            "RecordingUrl": url,
            "RecordingStatus": status,
            "RecordingDuration": str(seconds),
            "RecordingChannels": "1",
            "RecordingSource": "RecordVerb",
            "RecordingStartTime": rfc2822(self._now()),
            "ErrorCode": "0",
        }
        target = resolve_url(self._doc_url, verb.get("recordingStatusCallback") or "")
        method = verb.get("recordingStatusCallbackMethod", "POST")
        self._callback("recording", target, params, method, hold=False)

    def _dial(self, verb: ET.Element) -> None:
        numbers = [child for child in verb if child.tag == "Number"]
        targets = [(n.text or "").strip() for n in numbers] or [(verb.text or "").strip()]
        outcome: DialOutcome | None = None
        for index, number in enumerate(targets):
            noun = numbers[index] if numbers else None
            outcome = self._dial_number(verb, noun, number)
            if outcome.status == "answered":
                break  # Twilio bridges the first leg that answers
        if outcome is None:
            return
        action = verb.get("action")
        if not action:
            return  # no action: continue with the next verb
        params = {
            "DialCallStatus": "completed" if outcome.status == "answered" else outcome.status,
            "DialCallSid": outcome.call_sid,
            "DialBridged": "true" if outcome.status == "answered" else "false",
        }
        if outcome.status == "answered":
            params["DialCallDuration"] = str(outcome.duration)
        self._fetch(resolve_url(self._doc_url, action), verb.get("method", "POST"), params)

    def _dial_number(self, verb: ET.Element, noun: ET.Element | None, number: str) -> DialOutcome:
        caller_id = verb.get("callerId") or self.from_
        url = noun.get("url") if noun is not None else None
        request = DialRequest(
            parent_call_sid=self.sid,
            account_sid=self.sim.account_sid,
            number=number,
            caller_id=caller_id,
            timeout=_int(verb.get("timeout"), 30),
            url=resolve_url(self._doc_url, url) if url else None,
            method=(noun.get("method", "POST") if noun is not None else "POST"),
        )
        outcome = self.sim.dial_handler(request)
        self.elapsed += outcome.ring_seconds + outcome.duration
        if noun is None or not noun.get("statusCallback"):
            return outcome
        events = _events(noun.get("statusCallbackEvent", "completed"))
        target = resolve_url(self._doc_url, noun.get("statusCallback") or "")
        method = noun.get("statusCallbackMethod", "POST")
        base = {
            "AccountSid": self.sim.account_sid,
            "CallSid": outcome.call_sid,
            "ParentCallSid": self.sid,
            "From": caller_id,
            "To": number,
            "Caller": caller_id,
            "Called": number,
            "Direction": "outbound-dial",
            "ApiVersion": API_VERSION,
        }
        steps = [("initiated", "initiated")]
        if outcome.status in {"answered", "no-answer"}:
            steps.append(("ringing", "ringing"))
        if outcome.status == "answered":
            steps.append(("answered", "in-progress"))
        final = "completed" if outcome.status == "answered" else outcome.status
        steps.append(("completed", final))
        sent = 0  # each leg numbers its own events
        for event, call_status in steps:
            if event not in events:
                continue
            params = base | self._progress_fields(call_status, sent)
            sent += 1
            if event == "completed":
                params["CallDuration"] = str(outcome.duration)
            self._callback("dial-status", target, params, method, hold=True)
        return outcome

    # --- requests ---------------------------------------------------------------------

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

    def _fetch(self, url: str, method: str, extra: Mapping[str, str]) -> None:
        """Request TwiML and make it the current document; errors end the call."""
        self._fetches_without_input += 1
        if self._fetches_without_input > MAX_FETCHES_WITHOUT_INPUT:
            self._application_error(f"more than {MAX_FETCHES_WITHOUT_INPUT} documents in a row")
            return
        record = self._send("voice", url, self._params() | dict(extra), method)
        if record.error or record.status_code is None or not 200 <= record.status_code < 300:
            self._application_error(f"{url}: HTTP {record.status_code} {record.error or ''}")
            return
        try:
            root = ET.fromstring(record.body)  # noqa: S314 - TwiML from the app under test
        except ET.ParseError as exc:
            self._application_error(f"{url}: invalid TwiML ({exc})")
            return
        if root.tag != "Response":
            self._application_error(f"{url}: root element is <{root.tag}>, not <Response>")
            return
        self._doc_url = url
        self._verbs = deque(root)
        self._pending = None

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
        if self.ended:
            return
        self.ended = True
        self._pending = None
        self._verbs.clear()
        self.status = status
        self._progress("completed", status)
        held, self._held_callbacks = self._held_callbacks, []
        for kind, url, params, method in reversed(held):
            for _ in range(2 if self.sim.duplicate_callbacks else 1):
                self._send(kind, url, params, method)

    def _application_error(self, detail: str) -> None:
        self.errors.append(detail)
        self._hear(APPLICATION_ERROR)
        self._end("completed")

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

    def _hear(self, text: str) -> None:
        self.heard.append(text)
        self._said.append(text)

    def _now(self) -> datetime:
        return self.started_at + timedelta(seconds=self.elapsed)

    def _turn(self) -> Turn:
        said, self._said = self._said, []
        pending = self._pending
        if self.ended or pending is None:
            return Turn(said, None, None, True)
        if pending.tag == "Gather":
            return Turn(said, "gather", pending.get("input", "dtmf"), False, pending.get("hints"))
        return Turn(said, "record", None, False)

    # Dispatch table, defined after the handlers it names.
    _VERBS: dict[str, Callable[[SimulatedCall, ET.Element], None]] = {
        "Say": _say,
        "Play": _play,
        "Pause": _pause,
        "Gather": _gather,
        "Record": _record,
        "Redirect": _redirect,
        "Hangup": _hangup,
        "Reject": _reject,
        "Dial": _dial,
    }


def _int(value: str | None, default: int) -> int:
    """Parse an integer TwiML attribute, falling back to Twilio's default."""
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _events(value: str) -> set[str]:
    """Split an event list attribute (Twilio accepts spaces or commas)."""
    return set(value.replace(",", " ").split())


def _collect_digits(pressed: str, finish_keys: str, num_digits: int) -> tuple[str, str]:
    """Return (Digits, FinishedOnKey) for keys pressed into a ``<Gather>``."""
    digits = ""
    for key in pressed:
        if key == "w":
            continue  # a pause between key presses
        if key in finish_keys:
            return digits, key
        digits += key
        if num_digits and len(digits) >= num_digits:
            break
    return digits, ""
