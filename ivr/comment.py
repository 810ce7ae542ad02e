"""The recorded comment: disclosure, consent, and the recording itself."""

from __future__ import annotations

import logging

from twilio.twiml.voice_response import VoiceResponse

from core import events
from ivr.person import ask_callback, confirm_opt_out, offer_human, opt_out
from ivr.turn import MAX_TRIES, RECORDING_CALLBACK_PATH, Turn, step_url
from replies.answers import Intent, read_reply
from transcription import pipeline

log = logging.getLogger(__name__)


def ask_consent(turn: Turn, tries: int = 1) -> VoiceResponse:
    if not turn.version.record_comment:
        return ask_callback(turn)
    turn.gather(turn.version.disclosure, "consent", num_digits=1, hints="yes, no", tries=tries)
    return turn.response


def on_consent(turn: Turn) -> VoiceResponse:
    reading = read_reply(None, turn.inp.digits, turn.inp.speech)
    if reading.intent is Intent.OPT_OUT:
        if turn.inp.digits:
            return opt_out(turn)
        return confirm_opt_out(turn, "consent", {"t": turn.inp.tries})
    if reading.intent is Intent.HUMAN:
        return offer_human(turn)
    # Recording needs a clear yes: one Twilio doubts is asked again, never assumed.
    agreed = None if turn.unsure or reading.value is None else bool(reading.value)
    if agreed is None and turn.inp.tries < MAX_TRIES:
        return ask_consent(turn, turn.inp.tries + 1)
    turn.session.consent_recording = bool(agreed)  # no clear yes means no recording
    events.record("caller.recording_consent", session=turn.session, data={"consent": bool(agreed)})
    if not agreed:
        turn.say("No problem, we won't record anything.")
        return ask_callback(turn)
    turn.say(turn.version.comment_prompt)
    turn.response.record(
        action=step_url("recorded"),
        method="POST",
        max_length=turn.version.comment_max_seconds,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
        trim="trim-silence",
        recording_status_callback=RECORDING_CALLBACK_PATH,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    # Silence: Twilio skips the action and carries on with the next verb.
    turn.response.redirect(step_url("no-comment"), method="POST")
    return turn.response


def on_recorded(turn: Turn) -> VoiceResponse:
    sid = turn.inp.form.get("RecordingSid", "")
    if sid:
        pipeline.register(
            turn.session,
            sid,
            turn.inp.form.get("RecordingUrl"),
            turn.inp.form.get("RecordingDuration"),
        )
    turn.say("Thank you, we have your comment.")
    return ask_callback(turn)
