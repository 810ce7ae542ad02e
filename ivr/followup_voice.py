"""The follow-up call after a callback: one question, "Did we put it right? 1 to 5".

Placed by ``workers.jobs.send_follow_up`` when the customer has not allowed texts. The
answer is read by the survey's own reader (keys or words, ``callbacks.followup.read``) and
stored through ``callbacks.followup``; this module only speaks TwiML. Webhooks are signed
like the survey's and always answer TwiML (a status callback: 204 or a short 4xx).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from callbacks import followup
from callbacks.models import FollowUpStatus
from core.db import db
from core.twilio_auth import twilio_signed
from core.twilio_params import BadParameter, clean, clean_args, db_id
from core.twilio_rest import public_url, twilio_client
from core.twiml import say_and_hang_up, twiml
from replies.answers import Intent, parse_yes_no

log = logging.getLogger(__name__)
bp = Blueprint("followup_voice", __name__, url_prefix="/twilio/voice/followup")

PATH = "/twilio/voice/followup"
MAX_TRIES = 3
ASK = (
    f"Hello, this is a quick follow-up to the call back you had from our team. "
    f"{followup.QUESTION} Press or say 1 to 5, where 1 is not at all and 5 is completely."
)
AGAIN = f"Sorry, I didn't catch that. {followup.QUESTION} Press or say a number from 1 to 5."
THANKS = "Thank you, that helps us a lot. Goodbye."
SORRY = (
    "Thank you for telling us. We're sorry we didn't get it right: a supervisor will look "
    "into it and call you back. Goodbye."
)
PERSON = "Of course. A supervisor will call you back. Goodbye."
CONFIRM_OPT_OUT = (
    "You'd like no more calls or surveys from us. Press 1 or say yes to confirm, "
    "or press 2 to carry on."
)
OPTED_OUT = "You won't hear from us again. Goodbye."
NO_ANSWER = "Thank you for your time. Goodbye."
CLOSED = "Thank you, we already have your answer. Goodbye."


def place_call(task_id: int, number: str) -> str:
    """Ring the customer with the question; returns the CallSid (Twilio errors propagate)."""
    call = twilio_client().calls.create(
        to=number,
        from_=current_app.config["TWILIO_PHONE_NUMBER"],
        url=public_url(f"{PATH}/{task_id}"),
        method="POST",
        fallback_url=public_url("/twilio/voice/fallback"),
        status_callback=public_url(f"{PATH}/{task_id}/status"),
        status_callback_event=["completed"],
        status_callback_method="POST",
    )
    return str(call.sid or "")


def ask(task_id: int, tries: int, *, confirming: bool = False) -> VoiceResponse:
    """The question (or, after a spoken opt-out, its read-back), coming back here."""
    response = VoiceResponse()
    step = "&step=optout" if confirming else ""
    gather = response.gather(
        input="dtmf speech",
        action=f"{PATH}/{task_id}?try={tries}{step}",
        method="POST",
        num_digits=1,
        timeout=6,
        hints="yes, no" if confirming else "one, two, three, four, five",
        speech_timeout="auto",
        action_on_empty_result=True,
    )
    gather.say(CONFIRM_OPT_OUT if confirming else ASK if tries == 1 else AGAIN)
    response.say(NO_ANSWER)  # reached only if the Gather never calls back
    response.hangup()
    return response


def reply(
    task_id: int, call_sid: str, digits: str, speech: str, tries: int, step: str = ""
) -> Response:
    """What the customer pressed or said, stored; then thanks, or the question again."""
    follow_up = followup.for_task(task_id)
    if follow_up is None or (follow_up.sid and follow_up.sid != call_sid):
        return say_and_hang_up(NO_ANSWER)  # not a follow-up call we placed
    if follow_up.status is FollowUpStatus.ANSWERED:
        return say_and_hang_up(CLOSED)
    if not digits and not speech and tries == 0:
        return twiml(ask(task_id, 1))
    if step == "optout":  # a spoken opt-out counts only once confirmed, as in the survey
        if parse_yes_no(digits, speech):
            followup.opt_out(task_id, "voice")
            return say_and_hang_up(OPTED_OUT)
        return twiml(ask(task_id, tries + 1))
    reading = followup.read(digits, speech)
    if reading.intent is Intent.OPT_OUT:
        if digits:  # 9, the survey's own key for it: at once
            followup.opt_out(task_id, "voice")
            return say_and_hang_up(OPTED_OUT)
        return twiml(ask(task_id, tries, confirming=True))
    if reading.value is not None:
        said = followup.record_follow_up(task_id, reading.value, "voice")
        return say_and_hang_up(SORRY if said == "reopened" else THANKS)
    if reading.intent is Intent.HUMAN:
        followup.wants_person(task_id, "voice")
        return say_and_hang_up(PERSON)
    if tries >= MAX_TRIES:
        return say_and_hang_up(NO_ANSWER)
    return twiml(ask(task_id, tries + 1))


@bp.post("/<int:task_id>")
@twilio_signed
def question(task_id: int) -> Response:
    """The call was answered (no ``try``) or the Gather came back with a reply."""
    try:
        params = clean(request.form, ("CallSid",))
        args = clean_args(request.args)
    except BadParameter as exc:
        log.warning("follow-up call for task %s refused: %s", task_id, exc)
        return say_and_hang_up(NO_ANSWER)
    if not db_id(task_id):
        return say_and_hang_up(NO_ANSWER)
    try:
        return reply(
            task_id,
            params["CallSid"],
            params.get("Digits", ""),
            params.get("SpeechResult", ""),
            int(args.get("try", "0")),
            args.get("step", ""),
        )
    except Exception:  # the customer must never hear Twilio's application error
        db.session.rollback()
        log.exception("follow-up call for task %s failed", task_id)
        return say_and_hang_up(NO_ANSWER)


@bp.post("/<int:task_id>/status")
@twilio_signed
def status(task_id: int) -> Response:
    """The call's end: not picked up (no-answer, busy, failed) is noted, not retried."""
    try:
        params = clean(request.form, ("CallSid", "CallStatus"))
    except BadParameter as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    if not db_id(task_id):
        return Response("unknown follow-up", status=404, mimetype="text/plain")
    followup.call_ended(task_id, params["CallStatus"])
    return Response(status=204)
