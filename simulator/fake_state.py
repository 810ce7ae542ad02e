"""In-memory state of the fake Twilio: calls, recordings, callee scripts, texts.

The HTTP layer lives in :mod:`simulator.fake_twilio` and the JSON shapes of what it serves
in :mod:`simulator.resources`; this module holds the state and places the calls (each in a
background thread, driven by a :class:`~simulator.call.SimulatedCall`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from simulator.actions import Action
from simulator.audio import wav_seconds
from simulator.call import SimulatedCall
from simulator.caller import CallerSimulator
from simulator.dialing import Answer, DialOutcome, DialRequest
from simulator.messages import MessageBox
from simulator.resources import FakeCall, FakeRecording
from simulator.sids import API_VERSION, new_sid
from simulator.webhooks import delivery_url, signed_base

__all__ = ["Callee", "CalleeScript", "FakeCall", "FakeRecording", "FakeTwilio"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Callee:
    """How the person at a number behaves when the fake calls them.

    Attributes:
        answer: answered, busy, no-answer or failed.
        actions: what they do each time the call waits for input.
        talk_seconds: how long they talk when reached through ``<Dial>``.
    """

    answer: Answer = "answered"
    actions: Sequence[Action] = ()
    talk_seconds: int = 1


CalleeScript = Sequence[Action] | Callee | Callable[["FakeCall"], "Callee | Sequence[Action]"]


class FakeTwilio:
    """The fake's state: thread-safe, and a :class:`RecordingSink` for simulated calls.

    Args:
        account_sid: the only account this fake serves.
        auth_token: its auth token (HTTP basic auth and webhook signatures).
        base_url: where the fake is served, for RecordingUrl; set from the first request
            when left ``None``.
        app_base_url: when set, webhooks are delivered to this scheme and host instead of
            the one in the URL given to the API (signatures still cover the URL as given),
            so an app configured with a public URL can be exercised offline.
        duplicate_callbacks: send every status and recording callback twice.
        reorder_callbacks: deliver each call's progress callbacks in reverse order.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str | None = None,
        app_base_url: str | None = None,
        duplicate_callbacks: bool = False,
        reorder_callbacks: bool = False,
    ) -> None:
        self.account_sid = account_sid
        self.duplicate_callbacks = duplicate_callbacks
        self.reorder_callbacks = reorder_callbacks
        self.auth_token = auth_token
        self.base_url = base_url.rstrip("/") if base_url else None
        self.app_base_url = app_base_url
        self.calls: dict[str, FakeCall] = {}
        self.recordings: dict[str, FakeRecording] = {}
        self.deleted_recordings: set[str] = set()
        self.api_log: list[dict[str, Any]] = []
        self._scripts: dict[str, CalleeScript] = {}
        self._media_failures: dict[str, deque[int]] = {}
        self._threads: list[threading.Thread] = []
        self._running: dict[str, SimulatedCall] = {}  # calls in progress, by CallSid
        self._lock = threading.RLock()
        self.messages = MessageBox(
            account_sid=account_sid, auth_token=auth_token, app_base_url=app_base_url
        )

    # --- configuration used by tests and /_fake endpoints --------------------------------

    def script_for(self, number: str, actions: CalleeScript) -> None:
        """Set how the callee at ``number`` behaves when this fake calls it.

        Args:
            number: E.164 number.
            actions: a list of actions (the callee answers), a :class:`Callee`, or a
                callable taking the :class:`FakeCall` and returning either.
        """
        with self._lock:
            self._scripts[number] = actions

    def fail_media(self, recording_sid: str, statuses: Sequence[int]) -> None:
        """Make the next media fetches of a recording answer with these HTTP codes."""
        with self._lock:
            self._media_failures.setdefault(recording_sid, deque()).extend(statuses)

    def next_media_failure(self, recording_sid: str) -> int | None:
        """Pop the next forced failure code for a recording's media, if any."""
        with self._lock:
            queue = self._media_failures.get(recording_sid)
            return queue.popleft() if queue else None

    def reset(self) -> None:
        """Forget calls, recordings, texts, scripts and planned failures (between tests)."""
        self.wait_for_calls()
        self.messages.reset()
        with self._lock:
            self.calls.clear()
            self.recordings.clear()
            self.deleted_recordings.clear()
            self.api_log.clear()
            self._scripts.clear()
            self._media_failures.clear()
            self._running.clear()

    def wait_for_calls(self, timeout: float = 10) -> None:
        """Wait for the background call threads to finish (for tests).

        Raises:
            TimeoutError: if a call is still running after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive()]
                self._threads = alive
            if not alive:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(alive)} simulated call(s) still running")
            alive[0].join(remaining)

    def callee(self, call: FakeCall) -> Callee:
        """Resolve the script for the number a call goes to (answers silently by default)."""
        with self._lock:
            script = self._scripts.get(call.to)
        if callable(script):
            script = script(call)
        if script is None:
            return Callee()
        if isinstance(script, Callee):
            return script
        return Callee(actions=tuple(script))

    # --- recordings ---------------------------------------------------------------------

    def store(self, account_sid: str, call_sid: str, wav: bytes) -> tuple[str, str, int]:
        """Keep a recording; return (RecordingSid, RecordingUrl, duration in seconds)."""
        sid = new_sid("RE")
        duration = max(1, math.ceil(wav_seconds(wav))) if wav else 0
        url = f"{self.base_url or ''}/{API_VERSION}/Accounts/{account_sid}/Recordings/{sid}"
        with self._lock:
            self.recordings[sid] = FakeRecording(sid, account_sid, call_sid, wav, duration, url)
        return sid, url, duration

    def recording_list(self, call_sid: str | None = None) -> list[FakeRecording]:
        """Recordings (only ``call_sid``'s, when given), newest first, as Twilio lists them."""
        with self._lock:
            found = [r for r in self.recordings.values() if call_sid in (None, r.call_sid)]
        return sorted(found, key=lambda r: r.date_created, reverse=True)

    def delete_recording(self, sid: str) -> bool:
        """Delete a recording; ``False`` if it did not exist."""
        with self._lock:
            if self.recordings.pop(sid, None) is None:
                return False
            self.deleted_recordings.add(sid)
            return True

    # --- calls --------------------------------------------------------------------------

    def place_call(self, call: FakeCall) -> FakeCall:
        """Register an outbound-api call and ring the callee in a background thread."""
        with self._lock:
            self.calls[call.sid] = call
        thread = threading.Thread(target=self._run_call, args=(call,), name=f"call-{call.sid}")
        thread.daemon = True
        with self._lock:
            self._threads.append(thread)
        thread.start()
        return call

    def update_call(self, sid: str, *, status: str | None, url: str | None, method: str) -> None:
        """Apply ``POST Calls/<sid>``: end the call or redirect it to new TwiML."""
        with self._lock:
            call = self.calls[sid]
            running = self._running.get(sid)
            if status in {"completed", "canceled"} and call.status in {"queued", "ringing"}:
                call.status = "canceled"
                call.date_updated = datetime.now(UTC)
            if running is not None and status in {"completed", "canceled"}:
                running.interrupt()
            elif running is not None and url:
                running.interrupt(redirect_url=self._delivery_url(url), method=method)

    def _run_call(self, call: FakeCall) -> None:
        """Ring the callee, then drive the call's TwiML with the callee's script."""
        try:
            self._drive(call)
        except Exception:  # a crash must not kill the server; the call just fails
            log.exception("simulated call %s crashed", call.sid)
            self._set_status(call, "failed")

    def _drive(self, call: FakeCall) -> None:
        with self._lock:
            if call.status == "canceled":
                return
        self._set_status(call, "ringing")
        callee = self.callee(call)
        with self._lock:
            if call.status == "canceled":  # canceled through the API while ringing
                return
        url = call.url or f"{self.base_url}/_fake/twiml/{call.sid}"
        with requests.Session() as http:
            simulator = self._simulator(http, call, url)
            sim_call = simulator.call(
                self._delivery_url(url),
                from_=call.from_,
                to=call.to,
                direction=call.direction,
                call_sid=call.sid,
                status_callback=call.status_callback,
                status_events=call.status_callback_events,
                method=call.method,
                status_callback_method=call.status_callback_method,
                answer=callee.answer,
            )
            with self._lock:
                self._running[call.sid] = sim_call
            if callee.answer == "answered":
                self._set_status(call, "in-progress")
            log.info("call %s to %s: %s", call.sid, call.to, callee.answer)
            result = sim_call.run(callee.actions)
            with self._lock:
                self._running.pop(call.sid, None)
                call.heard = result.heard
                call.webhooks = result.requests
            self._set_status(call, result.status, result.duration)
            log.info("call %s ended: %s after %s s", call.sid, result.status, result.duration)

    def _simulator(self, http: requests.Session, call: FakeCall, url: str) -> CallerSimulator:
        return CallerSimulator(
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            recordings=self,
            http=http,
            public_base_url=self._public_base(url),
            duplicate_callbacks=self.duplicate_callbacks,
            reorder_callbacks=self.reorder_callbacks,
            dial_handler=lambda request: self._dial(call, request),
        )

    def _dial(self, parent: FakeCall, request: DialRequest) -> DialOutcome:
        """Place a ``<Dial>`` leg: the callee script of the dialled number decides."""
        child = FakeCall(
            sid=new_sid("CA"),
            account_sid=self.account_sid,
            to=request.number,
            from_=request.caller_id,
            direction="outbound-dial",
            url=request.url,
            method=request.method,
            parent_call_sid=parent.sid,
            status="ringing",
        )
        with self._lock:
            self.calls[child.sid] = child
        callee = self.callee(child)
        duration = callee.talk_seconds if callee.answer == "answered" else 0
        outcome = DialOutcome(
            callee.answer, duration=duration, call_sid=child.sid, leg_actions=tuple(callee.actions)
        )
        if callee.answer == "answered" and request.url:
            # <Number url> runs TwiML on the dialled leg before the two are bridged.
            with requests.Session() as http:
                outcome = self._simulator(http, child, request.url).play_leg(
                    request, outcome, url=self._delivery_url(request.url)
                )
            assert outcome.leg is not None
            child.heard = outcome.leg.heard
            child.webhooks = outcome.leg.requests
        final = "completed" if callee.answer == "answered" else callee.answer
        self._set_status(child, final, outcome.duration)
        return outcome

    def _set_status(self, call: FakeCall, status: str, duration: int | None = None) -> None:
        now = datetime.now(UTC)
        with self._lock:
            if status == "in-progress":
                call.start_time = now
            elif status not in {"queued", "ringing"}:
                call.end_time = now
                call.duration = duration if duration is not None else 0
            call.status = status
            call.date_updated = now

    def _delivery_url(self, url: str) -> str:
        return delivery_url(url, self.app_base_url)

    def _public_base(self, url: str) -> str | None:
        return signed_base(url, self.app_base_url)

    def call_list(self) -> list[FakeCall]:
        """A snapshot of all calls, dial legs included, in creation order."""
        with self._lock:
            return list(self.calls.values())

    def log_api(self, entry: dict[str, Any]) -> None:
        """Append one REST request to the log served at ``/_fake/requests``."""
        with self._lock:
            self.api_log.append(entry)
