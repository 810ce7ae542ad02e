"""Leaving the questions: opting out, or reaching a person (a warm transfer, or a callback
at the number and time the caller chooses).

A person, in ``TRANSFER_HOURS``: a warm transfer. The agent's phone plays a whisper first
(``ivr.whisper``: the scores and the caller's words), then the two are bridged. Nobody
answers, or outside those hours: a callback, which the callback rules open with priority
high (``asked_for_human``), and the caller hears by when to expect it: the same SLA and
callee-local calling hours the task gets, from the moment it was said (``callback_promise``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from flask import current_app
from twilio.twiml.voice_response import VoiceResponse

from callbacks import promise
from core import contacts, events, hours, phones
from core.db import utcnow
from core.models import CallSession, SurveyOutcome
from ivr import whisper
from ivr.turn import MAX_TRIES, Turn, finish, step_url
from replies.answers import Intent, parse_yes_no, read_reply, spoken_digits
from texts import consent as text_consent

log = logging.getLogger(__name__)

CALLBACK_TIMES = {"1": "now", "2": "later_today", "3": "tomorrow"}


OPT_OUT_CHECK = (
    "You'd like no more surveys from us. Press 1 or say yes to confirm, or press 2 to carry on."
)


def opt_out(turn: Turn, source: str | None = None) -> VoiceResponse:
    """Opt out now: pressing 9, or a spoken opt-out the caller has confirmed."""
    contacts.opt_out(
        turn.session.contact,
        source=source or ("keypad" if turn.inp.digits else "voice"),
        session=turn.session,
    )
    turn.session.opted_out = True
    turn.session.outcome = SurveyOutcome.PARTIAL
    return turn.hangup(
        "You have been removed from all future surveys, and we will not call you for "
        "surveys again. Thank you, goodbye."
    )


def confirm_opt_out(
    turn: Turn, back: str, params: Mapping[str, object], tries: int = 1
) -> VoiceResponse:
    """Read a spoken opt-out back before applying it: it is for good, and speech can be
    misheard. ``back`` and ``params`` say where a caller who declines carries on."""
    if tries == 1:
        events.record("caller.asked_to_opt_out", session=turn.session, data={"at": back})
    turn.gather(
        OPT_OUT_CHECK,
        "optout",
        num_digits=1,
        hints="yes, no, carry on",
        tries=tries,
        params={"back": back, **params},
    )
    return turn.response


def transfer_available(now: datetime | None = None) -> bool:
    """A transfer number is set and it is within ``TRANSFER_HOURS`` where the team is."""
    number = current_app.config["TRANSFER_NUMBER"]
    if not number:
        return False
    cfg = current_app.config
    team = hours.zone(cfg["TRANSFER_TIMEZONE"], cfg["DEFAULT_TIMEZONE"])
    return hours.is_allowed(now or utcnow(), team, hours.Window.parse(cfg["TRANSFER_HOURS"]))


def offer_human(turn: Turn) -> VoiceResponse:
    turn.session.asked_for_human = True
    turn.answered = True  # a hang-up may have told the rules before this was stored
    events.record("caller.asked_for_human", session=turn.session)
    if transfer_available():
        whisper.remember(turn.session.id, turn.inp.speech)
        turn.say("Please hold while we connect you to a member of our team.")
        dial = turn.response.dial(
            action=step_url("transferred"),
            method="POST",
            timeout=20,
            caller_id=current_app.config["TWILIO_PHONE_NUMBER"],
        )
        # Twilio plays the whisper to the agent who answers, then bridges the caller.
        dial.number(
            current_app.config["TRANSFER_NUMBER"], url=whisper.url(turn.session.id), method="POST"
        )
        return turn.response
    turn.session.wants_callback = True
    turn.say("Our team can't take your call right now, so we will call you back.")
    return ask_number(turn)


def on_transferred(turn: Turn) -> VoiceResponse:
    form = turn.inp.form
    # "completed" with DialBridged=false: the agent answered but never took the call.
    if form.get("DialCallStatus") == "completed" and form.get("DialBridged") != "false":
        turn.session.transferred = True
        turn.session.outcome = SurveyOutcome.PARTIAL
        return turn.hangup("Thank you for calling. Goodbye.")
    turn.session.wants_callback = True
    turn.answered = True
    events.record(
        "caller.transfer_unanswered",
        session=turn.session,
        data={"dial_status": form.get("DialCallStatus")},
    )
    turn.say("Sorry, nobody could answer just now, so we will call you back.")
    return ask_number(turn)


def callback_promise(
    session: CallSession, now: datetime | None = None, choice: str | None = None
) -> str:
    """Promise the callback at ``now`` and say by when, in the callee's time: "by 4:15 PM
    today", "tomorrow between 8 AM and 9 AM".

    What is said is kept on the session (``callbacks.promise.record``): the task is never due
    after it, however long the call goes on or whatever the settings say when the task is
    opened, and a repeated turn says the same again (another ``choice`` is a new promise, the
    one kept). A later reason (distress in the comment) only brings the deadline forward.
    """
    promise.record(session, now or utcnow(), choice)
    return promise.said(session)


def ask_callback(turn: Turn, tries: int = 1) -> VoiceResponse:
    prompt = (
        "Would you like someone from our team to call you back about your experience? "
        "Press 1 for yes, or 2 for no."
    )
    turn.gather(prompt, "offer", num_digits=1, hints="yes, no", tries=tries)
    return turn.response


def on_offer(turn: Turn) -> VoiceResponse:
    reading = read_reply(None, turn.inp.digits, turn.inp.speech)
    if reading.intent is Intent.OPT_OUT:
        if turn.inp.digits:
            return opt_out(turn)
        return confirm_opt_out(turn, "offer", {"t": turn.inp.tries})
    # A doubtful "yes" is asked again rather than guessed.
    answer = None if turn.unsure else reading.value
    wants = True if reading.intent is Intent.HUMAN else None if answer is None else bool(answer)
    if wants is None and turn.inp.tries < MAX_TRIES:
        return ask_callback(turn, turn.inp.tries + 1)
    turn.session.wants_callback = bool(wants)
    turn.answered = True
    if not wants:
        return ask_texts_or_finish(turn)
    return ask_number(turn)


def ask_number(turn: Turn, tries: int = 1) -> VoiceResponse:
    last4 = turn.session.customer_number[-4:]
    prompt = (
        f"We can call you back on the number ending in {' '.join(last4)}. "
        "Press 1 to use this number, or 2 to give us a different number."
    )
    turn.gather(
        prompt, "number", num_digits=1, hints="yes, this number, different number", tries=tries
    )
    return turn.response


def on_number(turn: Turn) -> VoiceResponse:
    choice = turn.inp.digits or ("2" if "different" in turn.inp.speech.lower() else "")
    if not choice and parse_yes_no("", turn.inp.speech):
        choice = "1"
    if choice == "1" or (choice != "2" and turn.inp.tries >= MAX_TRIES):
        turn.session.callback_number = turn.session.customer_number
        turn.answered = True
        return ask_when(turn)
    if choice == "2":
        return ask_new_number(turn)
    return ask_number(turn, turn.inp.tries + 1)


def ask_new_number(turn: Turn, tries: int = 1) -> VoiceResponse:
    turn.gather(
        "Please enter the phone number, including the area code, then press the pound key.",
        "enter",
        dtmf_only=True,
        finish_on_key="#",
        timeout=10,
        tries=tries,
    )
    return turn.response


def normalise_number(digits: str, like: str) -> str | None:
    """E.164 for digits keyed in, read in the region of the number we called."""
    try:
        return phones.to_e164(digits, phones.region_of(like))
    except phones.InvalidNumber:
        return None


def on_new_number(turn: Turn) -> VoiceResponse:
    number = (
        normalise_number(turn.inp.digits, turn.session.customer_number) if turn.inp.digits else None
    )
    if number is None:
        if turn.inp.tries < MAX_TRIES:
            return ask_new_number(turn, turn.inp.tries + 1)
        turn.say("We'll use the number you are calling from.")
        turn.session.callback_number = turn.session.customer_number
        turn.answered = True
        return ask_when(turn)
    turn.gather(
        f"You entered {spoken_digits(number)}. Press 1 if that is correct, or 2 to enter it again.",
        "confirm",
        num_digits=1,
        hints="yes, no",
        params={"num": number},
    )
    return turn.response


def on_confirm_number(turn: Turn) -> VoiceResponse:
    number = turn.inp.args.get("num", "")
    if parse_yes_no(turn.inp.digits, turn.inp.speech) and number:
        turn.session.callback_number = number
        contacts.set_callback_number(turn.session.contact, number)
        turn.answered = True
        return ask_when(turn)
    return ask_new_number(turn)


def ask_when(turn: Turn, tries: int = 1) -> VoiceResponse:
    turn.gather(
        "When should we call? Press 1 for as soon as possible, 2 for later today, "
        "or 3 for tomorrow.",
        "when",
        num_digits=1,
        hints="now, as soon as possible, later today, tomorrow",
        tries=tries,
    )
    return turn.response


def _when_from_speech(speech: str) -> str | None:
    text = speech.lower()
    if "tomorrow" in text:
        return "tomorrow"
    if "later" in text or "today" in text or "afternoon" in text or "evening" in text:
        return "later_today"
    if "now" in text or "soon" in text or "asap" in text:
        return "now"
    return None


def on_when(turn: Turn) -> VoiceResponse:
    when = CALLBACK_TIMES.get(turn.inp.digits) or _when_from_speech(turn.inp.speech)
    if when is None and turn.inp.tries < MAX_TRIES:
        return ask_when(turn, turn.inp.tries + 1)
    turn.answered = True
    by_when = callback_promise(turn.session, choice=when or "now")
    return ask_texts_or_finish(turn, f"Someone from our team will call you back {by_when}.")


TEXTS_PROMPT = (
    "May we send you the occasional text message about your experience? "
    "Press 1 for yes, or 2 for no."
)


def ask_texts_or_finish(turn: Turn, said: str | None = None, tries: int = 1) -> VoiceResponse:
    """Before the goodbye, when the survey version offers texts and the caller has not
    agreed already: ask for permission to text (``said`` is spoken first)."""
    contact = turn.session.contact
    if not turn.version.offer_texts or contact is None or text_consent.standing(contact.phone):
        return finish(turn, said)
    if said:
        turn.say(said)
    turn.gather(TEXTS_PROMPT, "texts", num_digits=1, hints="yes, no", tries=tries)
    return turn.response


def on_texts(turn: Turn) -> VoiceResponse:
    """Yes keeps the permission (source voice_survey); no, or no clear answer, asks nothing."""
    reading = read_reply(None, turn.inp.digits, turn.inp.speech)
    if reading.intent is Intent.OPT_OUT:
        if turn.inp.digits:
            return opt_out(turn)
        return confirm_opt_out(turn, "texts", {"t": turn.inp.tries})
    answer = None if turn.unsure else reading.value
    if answer is None and turn.inp.tries < MAX_TRIES:
        return ask_texts_or_finish(turn, tries=turn.inp.tries + 1)
    if answer and turn.session.contact is not None:
        text_consent.grant(turn.session.contact, "voice_survey")
        events.record("caller.agreed_to_texts", session=turn.session)
        return finish(turn, "Thank you. Reply STOP to any text to stop them.")
    return finish(turn)
