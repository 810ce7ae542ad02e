"""TwiML verbs, followed the way Twilio follows them.

:class:`TwimlPlayer` holds the current TwiML document and runs its verbs: it "hears"
``<Say>``/``<Play>``, stops at a ``<Gather>`` or ``<Record>`` until the caller acts, and
answers them (digits, speech, recorded audio) by requesting the verb's action URL. It
dials ``<Dial>`` legs through the simulator's dial handler. Time is virtual: timeouts and
pauses add to the call's duration but never sleep. What is sent, and how, is
:class:`~simulator.line.CallLine`'s business; when the caller acts is
:class:`~simulator.call.SimulatedCall`'s.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping

from simulator.actions import Action, Press, RecordAudio, Speak
from simulator.audio import truncate_wav, wav_seconds
from simulator.dialing import DialOutcome, DialRequest
from simulator.line import CallerSettings, CallLine
from simulator.results import CallRecording, CallResult
from simulator.sids import API_VERSION, new_sid, rfc2822
from simulator.state import CallSetup
from simulator.webhooks import resolve_url

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
# Twilio stops following a chain of documents that never waits for the caller.
MAX_FETCHES_WITHOUT_INPUT = 50
RECORD_FINISH_KEYS = "1234567890*#"


class TwimlPlayer(CallLine):
    """A call's current TwiML document, its verbs, and what the caller heard."""

    def __init__(self, settings: CallerSettings, setup: CallSetup) -> None:
        super().__init__(settings, setup)
        self.heard: list[str] = []
        self.recordings: list[CallRecording] = []
        self.errors: list[str] = []
        # The <Dial> legs whose <Number url> TwiML was played to the party that answered.
        self.legs: list[CallResult] = []
        # True once the TwiML ran out of verbs (rather than hanging up): on a dialled leg's
        # <Number url>, that is when Twilio bridges the two parties.
        self.twiml_finished = False
        self._doc_url = setup.url  # relative TwiML URLs resolve against it
        self._document = ""  # the current TwiML document's text
        self._verbs: list[ET.Element] = []  # its verbs
        self._next_verb = 0  # index of the next verb to run
        self._pending: ET.Element | None = None  # the <Gather>/<Record> waiting for input
        # Per turn, empty between turns: heard since the last turn, documents fetched since
        # the caller last acted (a chain that never waits ends in an application error).
        self._said: list[str] = []
        self._fetches_without_input = 0

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
        self._document = record.body
        self._verbs = list(root)
        self._next_verb = 0
        self._pending = None

    def _take_verb(self) -> ET.Element | None:
        """The next verb of the current document (``None`` when it has run out)."""
        if self._next_verb >= len(self._verbs):
            return None
        verb = self._verbs[self._next_verb]
        self._next_verb += 1
        return verb

    def _end(self, status: str) -> None:
        if self.ended:
            return
        self._pending = None
        self._document, self._verbs, self._next_verb = "", [], 0
        super()._end(status)

    def _application_error(self, detail: str) -> None:
        self.errors.append(detail)
        self._hear(APPLICATION_ERROR)
        self._end("completed")

    def _hear(self, text: str) -> None:
        self.heard.append(text)
        self._said.append(text)

    # --- verbs that play or move on -----------------------------------------------------

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

    # --- answering a waiting <Gather> or <Record> ---------------------------------------

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
        events = _events(verb.get("recordingStatusCallbackEvent", "completed"))
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

    # --- <Dial> ---------------------------------------------------------------------------

    def _dial(self, verb: ET.Element) -> None:
        numbers = [child for child in verb if child.tag == "Number"]
        targets = [(n.text or "").strip() for n in numbers] or [(verb.text or "").strip()]
        outcome: DialOutcome | None = None
        for index, number in enumerate(targets):
            noun = numbers[index] if numbers else None
            outcome = self._dial_number(verb, noun, number)
            if outcome.connected:
                break  # Twilio bridges the first leg that answers (and is not screened out)
        if outcome is None:
            return
        action = verb.get("action")
        hung_up = outcome.connected and outcome.caller_hung_up
        if not action:
            if hung_up:
                self._end("completed")
            return  # no action: continue with the next verb
        params = {
            "DialCallStatus": "completed" if outcome.status == "answered" else outcome.status,
            "DialCallSid": outcome.call_sid,
            "DialBridged": "true" if outcome.connected else "false",
        }
        if outcome.status == "answered":
            params["DialCallDuration"] = str(outcome.duration)
        url, method = resolve_url(self._doc_url, action), verb.get("method", "POST")
        if hung_up:
            # Twilio still requests the action, but the caller is gone: its TwiML is ignored.
            self.status = "completed"
            self._send("voice", url, self._params() | params, method)
            self._end("completed")
        else:
            self._fetch(url, method, params)

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
        if outcome.status == "answered" and request.url and outcome.leg is None:
            outcome = self.sim.play_leg(request, outcome)  # the whisper, before bridging
        if outcome.leg is not None:
            self.legs.append(outcome.leg)
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

    # Dispatch table, defined after the handlers it names.
    _VERBS: dict[str, Callable[[TwimlPlayer, ET.Element], None]] = {
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
