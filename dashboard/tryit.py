"""Try a survey in the browser: a simulated phone call, driven a turn at a time.

The caller simulator sends signed webhooks over HTTP to this same app, so the browser
hears exactly what a phone caller would. Between turns the call's state
(:class:`simulator.state.CallState`, as JSON signed with SECRET_KEY, expiring) is kept in
Redis, not in the web process: gunicorn runs several workers and the next click may reach
another one, which resumes the call from it. A Redis lock per call serialises turns
(``SimulatedCall`` is not thread-safe). Calls idle for ``TTL_SECONDS`` are hung up by the
next try-it request, so their sessions end like an abandoned phone call.

Try-it sessions are marked ``CallSession.is_test`` and come from ``TRY_CALLER``, a
fictional number kept on the do-not-call list so no callback is ever opened for it.

Recording a comment stores the audio in the fake Twilio (local mode). With real Twilio
credentials there is nowhere Twilio-like to keep it, so the recording step is refused
with a message and the manager skips it (the rest of the survey still plays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import imageio_ffmpeg
from flask import current_app, request

from core.db import db, utcnow
from core.models import CallSession, Contact, Survey
from core.redis_client import get_redis
from simulator.actions import Action, HangUp, Press, RecordAudio, Silent, Speak
from simulator.caller import CallerSimulator, SimulatedCall, Turn
from simulator.sinks import HttpRecordingSink
from simulator.state import CallState

TRY_CALLER = "+15555550100"  # 555-01xx: reserved for fiction, never a real customer
TTL_SECONDS = 15 * 60  # idle time after which a try-it call is hung up
MAX_CALLS = 50
MAX_UPLOAD_BYTES = 10_000_000
FFMPEG_TIMEOUT = 60
STATE_KEY = "tryit:call:{}"
LOCK_KEY = "tryit:lock:{}"
TOUCHED = "tryit:touched"  # sorted set: call id -> last activity (epoch seconds)


class TryItError(Exception):
    """Something the manager should be told (shown in the page)."""


@dataclass
class TryCall:
    """A try-it call: whose it is, which survey, and the simulated call itself."""

    id: str
    user_id: int
    survey_id: int
    call: SimulatedCall
    session_id: int | None = None


def _simulator() -> CallerSimulator:
    cfg = current_app.config
    sink = HttpRecordingSink(
        cfg["TWILIO_API_BASE_URL"], cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"]
    )
    return CallerSimulator(
        account_sid=cfg["TWILIO_ACCOUNT_SID"], auth_token=cfg["TWILIO_AUTH_TOKEN"], recordings=sink
    )


def _sign(payload: bytes) -> bytes:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, payload, hashlib.sha256).digest()


def _dump(entry: TryCall) -> bytes:
    state = replace(entry.call.state(), requests=())  # webhook bodies: not needed to carry on
    payload = json.dumps(
        {
            "user_id": entry.user_id,
            "survey_id": entry.survey_id,
            "session_id": entry.session_id,
            "call": state.to_json(),
        },
        separators=(",", ":"),
    ).encode()
    return _sign(payload) + payload


def _load(call_id: str, raw: bytes) -> TryCall | None:
    signature, payload = raw[:32], raw[32:]
    if not hmac.compare_digest(signature, _sign(payload)):
        return None
    try:
        data = json.loads(payload)
        call = _simulator().resume(CallState.from_json(data["call"]))
        return TryCall(call_id, data["user_id"], data["survey_id"], call, data["session_id"])
    except (ValueError, KeyError, TypeError):
        return None  # state of another format (an older release): like an expired call


def _save(entry: TryCall) -> None:
    redis = get_redis()
    if entry.call.ended:
        redis.delete(STATE_KEY.format(entry.id))
        redis.zrem(TOUCHED, entry.id)
        return
    redis.set(STATE_KEY.format(entry.id), _dump(entry), ex=TTL_SECONDS + 3600)
    redis.zadd(TOUCHED, {entry.id: time.time()})


@contextmanager
def checked_out(call_id: str, user_id: int | None) -> Iterator[TryCall | None]:
    """The call, locked for one turn and saved back after it (None: unknown or not yours)."""
    redis = get_redis()
    lock = redis.lock(LOCK_KEY.format(call_id), timeout=FFMPEG_TIMEOUT * 2, blocking_timeout=30)
    if not lock.acquire():
        raise TryItError("The previous answer is still being handled; try again.")
    try:
        raw = redis.get(STATE_KEY.format(call_id))
        entry = _load(call_id, raw) if isinstance(raw, bytes) else None
        if entry is None or (user_id is not None and entry.user_id != user_id):
            yield None
            return
        yield entry
        _save(entry)
    finally:
        lock.release()


def hang_up_stale(now: float | None = None) -> int:
    """Hang up try-it calls idle longer than ``TTL_SECONDS``; returns how many."""
    redis = get_redis()
    cutoff = (now or time.time()) - TTL_SECONDS
    stale = [
        m.decode() if isinstance(m, bytes) else str(m)
        for m in redis.zrangebyscore(TOUCHED, 0, cutoff)
    ]
    for call_id in stale:
        with checked_out(call_id, None) as entry:
            if entry is not None and not entry.call.ended:
                entry.call.hang_up()
        redis.zrem(TOUCHED, call_id)
    return len(stale)


def recording_supported() -> bool:
    """Comments can be recorded in try-it only against the fake Twilio (local mode)."""
    return bool(current_app.config["LOCAL_MODE"])


def _base_url() -> str:
    return str(current_app.config["PUBLIC_BASE_URL"] or request.host_url).rstrip("/")


def ready_try_caller() -> None:
    """The fictional try-it caller: never opted out (so the survey plays), always do-not-call."""
    contact = db.session.scalar(db.select(Contact).where(Contact.phone == TRY_CALLER))
    if contact is None:
        contact = Contact(phone=TRY_CALLER)
        db.session.add(contact)
    contact.opted_out_at = None
    if contact.do_not_call_at is None:
        contact.do_not_call_at = utcnow()
    db.session.commit()


def start(survey: Survey, user_id: int) -> dict[str, Any]:
    """Place a simulated call into the survey and play it up to the first question."""
    cfg = current_app.config
    hang_up_stale()
    if get_redis().zcard(TOUCHED) >= MAX_CALLS:
        raise TryItError("Too many try-it calls are running; try again in a few minutes.")
    ready_try_caller()
    base = _base_url()
    call = _simulator().call(
        f"{base}/twilio/voice/survey?survey={survey.slug}",
        from_=TRY_CALLER,
        to=cfg["TWILIO_PHONE_NUMBER"],
        status_callback=f"{base}/twilio/voice/status",
    )
    entry = TryCall(secrets.token_urlsafe(16), user_id, survey.id, call)
    turn = call.start()
    entry.session_id = mark_test(call.sid)
    _save(entry)
    return turn_json(entry, turn)


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
    """The caller action a page request asks for (keys, speech, silence or hanging up)."""
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


def respond(call_id: str, user_id: int, action: Action) -> dict[str, Any] | None:
    """Answer the waiting <Gather>/<Record>; None when the call is unknown or not the user's."""
    hang_up_stale()
    with checked_out(call_id, user_id) as entry:
        if entry is None:
            return None
        turn = entry.call.respond(action)
        if entry.session_id is None:
            entry.session_id = mark_test(entry.call.sid)
        return turn_json(entry, turn)


def to_wav(data: bytes, max_seconds: int) -> bytes:
    """Any audio the browser sends (webm/ogg/mp3/wav...) as 8 kHz mono 16-bit WAV."""
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


def record(call_id: str, user_id: int, audio: bytes) -> dict[str, Any] | None:
    """Answer the waiting <Record> with uploaded audio (converted to WAV)."""
    if not recording_supported():
        raise TryItError(
            "Recording a comment in try-it works in local mode only (with real Twilio "
            "credentials there is no fake Twilio to keep it). Choose “Skip the comment”."
        )
    with checked_out(call_id, user_id) as entry:
        if entry is None:
            return None
        max_seconds = 120
        session = db.session.get(CallSession, entry.session_id) if entry.session_id else None
        if session is not None and session.survey_version is not None:
            max_seconds = session.survey_version.comment_max_seconds
        turn = entry.call.respond(RecordAudio(to_wav(audio, max_seconds), "#"))
        return turn_json(entry, turn)


def turn_json(entry: TryCall, turn: Turn) -> dict[str, Any]:
    """A turn as the page's script reads it."""
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
