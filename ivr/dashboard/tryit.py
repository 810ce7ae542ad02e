"""Try a survey in the browser: a simulated phone call, driven a turn at a time.

The caller simulator sends signed webhooks over HTTP to this same app, so the browser
hears exactly what a phone caller would. Each call lives in this web process (a dict
keyed by a random id, guarded by locks, expiring after ``TTL_SECONDS`` of inactivity):
``SimulatedCall`` is not thread-safe, so every turn holds the call's own lock.

Try-it sessions are marked ``CallSession.is_test`` and come from ``TRY_CALLER``, a
fictional number kept on the do-not-call list so no callback is ever dialled for it.

Recording a comment stores the audio in the fake Twilio (local mode). With real Twilio
credentials there is nowhere Twilio-like to keep it, so the recording step is skipped
with a message (the rest of the survey still plays).
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request

from ivr.db import db, utcnow
from ivr.models import CallSession, Contact, Survey
from simulator.actions import Action, HangUp, Press, RecordAudio, Silent, Speak
from simulator.caller import CallerSimulator, SimulatedCall, Turn
from simulator.sinks import HttpRecordingSink

TRY_CALLER = "+15555550100"  # 555-01xx: reserved for fiction, never a real customer
TTL_SECONDS = 15 * 60
MAX_CALLS = 50
MAX_UPLOAD_BYTES = 10_000_000
FFMPEG_TIMEOUT = 60


class TryItError(Exception):
    """Something the manager should be told (shown in the page)."""


@dataclass
class TryCall:
    id: str
    user_id: int
    survey_id: int
    call: SimulatedCall
    lock: threading.Lock = field(default_factory=threading.Lock)
    touched: float = field(default_factory=time.monotonic)
    session_id: int | None = None


class Registry:
    """The process's live try-it calls."""

    def __init__(self, ttl: float = TTL_SECONDS, max_calls: int = MAX_CALLS) -> None:
        self.ttl = ttl
        self.max_calls = max_calls
        self._calls: dict[str, TryCall] = {}
        self._lock = threading.Lock()

    def add(self, entry: TryCall) -> None:
        stale = self._expire()
        with self._lock:
            if len(self._calls) >= self.max_calls:
                raise TryItError("Too many try-it calls are running; try again in a few minutes.")
            self._calls[entry.id] = entry
        _hang_up_all(stale)

    def get(self, call_id: str, user_id: int) -> TryCall | None:
        stale = self._expire()
        _hang_up_all(stale)
        with self._lock:
            entry = self._calls.get(call_id)
        if entry is None or entry.user_id != user_id:
            return None
        entry.touched = time.monotonic()
        return entry

    def remove(self, call_id: str) -> None:
        with self._lock:
            self._calls.pop(call_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def _expire(self) -> list[TryCall]:
        now = time.monotonic()
        with self._lock:
            stale = [c for c in self._calls.values() if now - c.touched > self.ttl]
            for c in stale:
                del self._calls[c.id]
        return stale


def _hang_up_all(entries: list[TryCall]) -> None:
    for entry in entries:
        with entry.lock:
            if not entry.call.ended:
                entry.call.hang_up()


_registry_lock = threading.Lock()


def registry(app: Flask | None = None) -> Registry:
    """The app's registry of live try-it calls, created on first use."""
    extensions = (app or current_app).extensions
    with _registry_lock:
        reg = extensions.get("dashboard_tryit")
        if not isinstance(reg, Registry):
            reg = extensions["dashboard_tryit"] = Registry()
    return reg


def recording_supported() -> bool:
    """Comments can be recorded in try-it only against the fake Twilio (local mode)."""
    return bool(current_app.config["LOCAL_MODE"])


def _base_url() -> str:
    return str(current_app.config["PUBLIC_BASE_URL"] or request.host_url).rstrip("/")


def _test_contact() -> None:
    """The fictional try-it caller: never opted out (so the survey plays), always do-not-call."""
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == TRY_CALLER))
    if contact is None:
        contact = Contact(phone=TRY_CALLER)
        db.session.add(contact)
    contact.opted_out_at = None
    if contact.do_not_call_at is None:
        contact.do_not_call_at = utcnow()
    db.session.commit()


def start(survey: Survey, user_id: int) -> tuple[TryCall, Turn]:
    """Place a simulated call into the survey and play it up to the first question."""
    cfg = current_app.config
    _test_contact()
    base = _base_url()
    sink = HttpRecordingSink(
        cfg["TWILIO_API_BASE_URL"], cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"]
    )
    simulator = CallerSimulator(
        account_sid=cfg["TWILIO_ACCOUNT_SID"], auth_token=cfg["TWILIO_AUTH_TOKEN"], recordings=sink
    )
    call = simulator.call(
        f"{base}/twilio/voice/survey?survey={survey.slug}",
        from_=TRY_CALLER,
        to=cfg["TWILIO_PHONE_NUMBER"],
        status_callback=f"{base}/twilio/voice/status",
    )
    entry = TryCall(secrets.token_urlsafe(16), user_id, survey.id, call)
    registry().add(entry)
    with entry.lock:
        turn = call.start()
        entry.session_id = mark_test(call.sid)
    if turn.ended:
        registry().remove(entry.id)
    return entry, turn


def mark_test(call_sid: str) -> int | None:
    """Flag the session of a try-it call as test data (kept out of trends)."""
    db.session.expire_all()
    session = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == call_sid))
    if session is None:
        return None
    session.is_test = True
    db.session.commit()
    return session.id


def action_from(payload: dict[str, Any]) -> Action:
    kind = payload.get("action")
    if kind == "press":
        digits = str(payload.get("digits", ""))
        if not digits or any(ch not in "0123456789*#" for ch in digits) or len(digits) > 20:
            raise TryItError("Keys must be 0-9, * or #.")
        return Press(digits)
    if kind == "say":
        text = " ".join(str(payload.get("text", "")).split())[:300]
        return Speak(text) if text else Silent()
    if kind == "silent":
        return Silent()
    if kind == "hangup":
        return HangUp()
    raise TryItError("Unknown action.")


def respond(entry: TryCall, action: Action) -> Turn:
    with entry.lock:
        turn = entry.call.respond(action)
        if entry.session_id is None:
            entry.session_id = mark_test(entry.call.sid)
    if turn.ended:
        registry().remove(entry.id)
    return turn


def to_wav(data: bytes, max_seconds: int) -> bytes:
    """Any audio the browser sends (webm/ogg/mp3/wav...) as 8 kHz mono 16-bit WAV."""
    import imageio_ffmpeg

    if not data:
        raise TryItError("The recording is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TryItError("The recording is too large (10 MB at most).")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="tryit-") as tmp:
        src, dest = Path(tmp) / "in", Path(tmp) / "out.wav"
        src.write_bytes(data)
        try:
            result = subprocess.run(
                [
                    ffmpeg,
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-y",
                    "-i",
                    str(src),
                    "-t",
                    str(max_seconds),
                    "-ac",
                    "1",
                    "-ar",
                    "8000",
                    "-acodec",
                    "pcm_s16le",
                    str(dest),
                ],
                capture_output=True,
                timeout=FFMPEG_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TryItError("Converting the recording took too long.") from exc
        if result.returncode != 0 or not dest.exists():
            raise TryItError("That file is not audio we can read.")
        return dest.read_bytes()


def record(entry: TryCall, audio: bytes) -> Turn:
    """Answer the waiting <Record> with uploaded audio (converted to WAV)."""
    if not recording_supported():
        raise TryItError(
            "Recording a comment in try-it works in local mode only (with real Twilio "
            "credentials there is no fake Twilio to keep it). Choose “Skip the comment”."
        )
    version_seconds = 120
    session = db.session.get(CallSession, entry.session_id) if entry.session_id else None
    if session is not None and session.survey_version is not None:
        version_seconds = session.survey_version.comment_max_seconds
    wav = to_wav(audio, version_seconds)
    return respond(entry, RecordAudio(wav, "#"))


def turn_json(entry: TryCall, turn: Turn) -> dict[str, Any]:
    return {
        "call_id": entry.id,
        "said": turn.said,
        "waiting_for": turn.waiting_for,
        "gather_input": turn.gather_input,
        "hints": turn.hints,
        "ended": turn.ended,
        "session_id": entry.session_id,
        "errors": list(entry.call.errors) if turn.ended else [],
    }
