"""The voice survey flow: one function per step, each returning the caller's next TwiML.

Every Gather posts back to ``/twilio/voice/survey?step=...``; the query string says what
the reply answers (signed by Twilio with the rest of the URL), the database says what was
already answered, so a retried webhook never stores an answer twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app
from twilio.twiml.voice_response import Gather, VoiceResponse

from core import contacts, events
from core.db import db, utcnow
from core.models import (
    Answer,
    CallSession,
    CallStatus,
    Question,
    QuestionKind,
    Survey,
    SurveyOutcome,
    SurveyVersion,
)
from ivr import lifecycle
from ivr.answers import Intent, detect_intent, parse_answer, parse_yes_no, spoken_digits
from transcription import pipeline

log = logging.getLogger(__name__)

SURVEY_PATH = "/twilio/voice/survey"
RECORDING_CALLBACK_PATH = "/twilio/voice/recording"
MAX_TRIES = 3  # the first ask plus two reprompts, then the question is skipped
CALLBACK_TIMES = {"1": "now", "2": "later_today", "3": "tomorrow"}
CALLBACK_TIME_WORDS = {
    "now": "as soon as possible",
    "later_today": "later today",
    "tomorrow": "tomorrow",
}


class SurveyUnavailable(Exception):
    """No survey with an active version matches the request."""


@dataclass(frozen=True)
class CallInput:
    """What one Twilio voice request tells us."""

    call_sid: str
    from_number: str
    to_number: str
    direction: str = "inbound"
    digits: str = ""
    speech: str = ""
    confidence: float | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)

    @property
    def step(self) -> str:
        return self.args.get("step", "start")

    @property
    def tries(self) -> int:
        try:
            return max(1, int(self.args.get("try", "1")))
        except ValueError:
            return 1

    @property
    def empty(self) -> bool:
        return not self.digits and not self.speech


def step_url(step: str, params: Mapping[str, object] | None = None) -> str:
    query = {"step": step, **{k: str(v) for k, v in (params or {}).items()}}
    return f"{SURVEY_PATH}?{urlencode(query)}"


@dataclass
class Turn:
    """One request being answered: the session, the caller's input and the reply."""

    session: CallSession
    inp: CallInput
    response: VoiceResponse = field(default_factory=VoiceResponse)

    @property
    def version(self) -> SurveyVersion:
        assert self.session.survey_version is not None
        return self.session.survey_version

    def say(self, text: str, target: VoiceResponse | Gather | None = None) -> None:
        (target or self.response).say(
            text, voice=self.version.voice, language=self.version.language
        )

    def gather(
        self,
        prompt: str,
        step: str,
        *,
        dtmf_only: bool = False,
        num_digits: int | None = None,
        finish_on_key: str | None = None,
        hints: str | None = None,
        timeout: int = 5,
        tries: int = 1,
        params: Mapping[str, object] | None = None,
    ) -> None:
        """Ask a question; an empty reply still comes back to us so we can count tries."""
        if tries > 1:
            prompt = f"Sorry, I didn't catch that. {prompt}"
        gather = self.response.gather(
            input="dtmf" if dtmf_only else "dtmf speech",
            action=step_url(step, {"try": tries, **(params or {})}),
            method="POST",
            timeout=timeout,
            num_digits=num_digits,
            finish_on_key=finish_on_key,
            hints=hints,
            language=self.version.language,
            speech_timeout="auto",
            action_on_empty_result=True,
        )
        self.say(prompt, gather)

    def hangup(self, text: str | None = None) -> VoiceResponse:
        if text:
            self.say(text)
        self.response.hangup()
        return self.response


# --- entry -----------------------------------------------------------------------------


def handle(inp: CallInput) -> VoiceResponse:
    """Serve one step of the survey for this call and commit what it stored."""
    session = load_session(inp)
    turn = Turn(session, inp)
    if session.contact and session.contact.opted_out and not session.opted_out:
        reply = turn.hangup(
            "You have asked not to receive surveys, so we will not ask you any questions. Goodbye."
        )
    else:
        reply = STEPS.get(inp.step, start)(turn)
    session.step = inp.step
    db.session.commit()
    return reply


def resolve_version(slug: str | None) -> SurveyVersion:
    survey = db.session.scalar(
        db.select(Survey).where(Survey.slug == (slug or current_app.config["DEFAULT_SURVEY"]))
    )
    if survey is None or survey.active_version is None:
        raise SurveyUnavailable(slug or current_app.config["DEFAULT_SURVEY"])
    return survey.active_version


def load_session(inp: CallInput) -> CallSession:
    """Find or create the call's session; pin the survey version on first sight."""
    session = ensure_session(inp.call_sid, inp.from_number, inp.to_number, inp.direction)
    if session.survey_version is None:
        session.survey_version = resolve_version(inp.args.get("survey"))
    if session.contact is None:
        session.contact = contacts.get_or_create(session.customer_number)
    if session.status.rank < CallStatus.IN_PROGRESS.rank:
        session.status = CallStatus.IN_PROGRESS
    if session.answered_at is None:
        session.answered_at = utcnow()
    if session.outcome is SurveyOutcome.NOT_STARTED:
        session.outcome = SurveyOutcome.IN_PROGRESS
    return session


def ensure_session(
    call_sid: str, from_number: str, to_number: str, direction: str, **values: object
) -> CallSession:
    """The session row for a CallSid, created at most once even under concurrent webhooks."""
    existing = db.session.scalar(db.select(CallSession).where(CallSession.call_sid == call_sid))
    if existing is not None:
        return existing
    session = CallSession(
        call_sid=call_sid,
        from_number=from_number,
        to_number=to_number,
        direction=direction or "inbound",
        **values,
    )
    return events.insert_or_get(session, CallSession.call_sid == call_sid)


# --- questions ---------------------------------------------------------------------------


def start(turn: Turn) -> VoiceResponse:
    turn.say(turn.version.greeting)
    return ask_question(turn, 0)


def ask_question(turn: Turn, position: int, tries: int = 1) -> VoiceResponse:
    questions = turn.version.questions
    if position >= len(questions):
        return ask_consent(turn)
    question = questions[position]
    nps = question.kind is QuestionKind.NPS
    turn.gather(
        question.prompt,
        "q",
        tries=tries,
        params={"n": position},
        num_digits=None if nps else 1,
        finish_on_key="#" if nps else None,
        hints=question.speech_hints,
    )
    # Reached only if the Gather ends without calling back (it always should).
    turn.response.redirect(step_url("q", {"n": position, "try": tries + 1}), method="POST")
    return turn.response


def on_question(turn: Turn) -> VoiceResponse:
    position = int(turn.inp.args.get("n", "0"))
    questions = turn.version.questions
    if position >= len(questions):
        return ask_consent(turn)
    question = questions[position]
    intent = detect_intent(question.kind, turn.inp.digits, turn.inp.speech)
    if intent is Intent.OPT_OUT:
        return opt_out(turn)
    if intent is Intent.HUMAN:
        return offer_human(turn)
    value = parse_answer(question.kind, turn.inp.digits, turn.inp.speech)
    if value is None and turn.inp.tries < MAX_TRIES:
        return ask_question(turn, position, turn.inp.tries + 1)
    store_answer(turn, question, value)
    return ask_question(turn, position + 1)


def store_answer(turn: Turn, question: Question, value: int | None) -> Answer:
    """Keep the first answer given to a question; a repeated webhook changes nothing."""
    existing = next((a for a in turn.session.answers if a.question_id == question.id), None)
    if existing is not None:
        return existing
    answer = Answer(
        session_id=turn.session.id,
        question_id=question.id,
        digits=turn.inp.digits or None,
        speech=turn.inp.speech or None,
        confidence=turn.inp.confidence,
        value=value,
        attempts=turn.inp.tries,
    )
    answer = events.insert_or_get(
        answer, (Answer.session_id == turn.session.id) & (Answer.question_id == question.id)
    )
    db.session.refresh(turn.session, ["answers"])
    return answer


# --- leaving the survey: opt-out and a person -------------------------------------------


def opt_out(turn: Turn) -> VoiceResponse:
    contacts.opt_out(
        turn.session.contact, source="keypad" if turn.inp.digits else "voice", session=turn.session
    )
    turn.session.opted_out = True
    turn.session.outcome = SurveyOutcome.PARTIAL
    return turn.hangup(
        "You have been removed from all future surveys, and we will not call you for "
        "surveys again. Thank you, goodbye."
    )


def transfer_available(now: datetime | None = None) -> bool:
    number = current_app.config["TRANSFER_NUMBER"]
    if not number:
        return False
    start_s, end_s = current_app.config["TRANSFER_HOURS"].split("-")
    local = (now or utcnow()).astimezone(ZoneInfo(current_app.config["TRANSFER_TIMEZONE"]))
    return time.fromisoformat(start_s) <= local.time() < time.fromisoformat(end_s)


def offer_human(turn: Turn) -> VoiceResponse:
    turn.session.asked_for_human = True
    events.record("caller.asked_for_human", session=turn.session)
    if transfer_available():
        turn.say("Please hold while we connect you to a member of our team.")
        dial = turn.response.dial(
            action=step_url("transferred"),
            method="POST",
            timeout=20,
            caller_id=current_app.config["TWILIO_PHONE_NUMBER"],
        )
        dial.number(current_app.config["TRANSFER_NUMBER"])
        return turn.response
    turn.session.wants_callback = True
    turn.say("Our team can't take your call right now, so we will call you back.")
    return ask_number(turn)


def on_transferred(turn: Turn) -> VoiceResponse:
    if turn.inp.form.get("DialCallStatus") == "completed":
        turn.session.transferred = True
        turn.session.outcome = SurveyOutcome.PARTIAL
        return turn.hangup("Thank you for calling. Goodbye.")
    turn.session.wants_callback = True
    turn.say("Sorry, nobody could answer just now, so we will call you back.")
    return ask_number(turn)


# --- recorded comment --------------------------------------------------------------------


def ask_consent(turn: Turn, tries: int = 1) -> VoiceResponse:
    if not turn.version.record_comment:
        return ask_callback(turn)
    turn.gather(turn.version.disclosure, "consent", num_digits=1, hints="yes, no", tries=tries)
    return turn.response


def on_consent(turn: Turn) -> VoiceResponse:
    intent = detect_intent(None, turn.inp.digits, turn.inp.speech)
    if intent is Intent.OPT_OUT:
        return opt_out(turn)
    if intent is Intent.HUMAN:
        return offer_human(turn)
    agreed = parse_yes_no(turn.inp.digits, turn.inp.speech)
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


# --- callback offer ----------------------------------------------------------------------


def ask_callback(turn: Turn, tries: int = 1) -> VoiceResponse:
    prompt = (
        "Would you like someone from our team to call you back about your experience? "
        "Press 1 for yes, or 2 for no."
    )
    turn.gather(prompt, "offer", num_digits=1, hints="yes, no", tries=tries)
    return turn.response


def on_offer(turn: Turn) -> VoiceResponse:
    intent = detect_intent(None, turn.inp.digits, turn.inp.speech)
    if intent is Intent.OPT_OUT:
        return opt_out(turn)
    wants = True if intent is Intent.HUMAN else parse_yes_no(turn.inp.digits, turn.inp.speech)
    if wants is None and turn.inp.tries < MAX_TRIES:
        return ask_callback(turn, turn.inp.tries + 1)
    turn.session.wants_callback = bool(wants)
    if not wants:
        return finish(turn)
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
        region = phonenumbers.region_code_for_number(phonenumbers.parse(like)) or "US"
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def on_new_number(turn: Turn) -> VoiceResponse:
    number = (
        normalise_number(turn.inp.digits, turn.session.customer_number) if turn.inp.digits else None
    )
    if number is None:
        if turn.inp.tries < MAX_TRIES:
            return ask_new_number(turn, turn.inp.tries + 1)
        turn.say("We'll use the number you are calling from.")
        turn.session.callback_number = turn.session.customer_number
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
    turn.session.callback_preference = when or "now"
    return finish(
        turn, f"Someone from our team will call you {CALLBACK_TIME_WORDS[when or 'now']}."
    )


def finish(turn: Turn, extra: str | None = None) -> VoiceResponse:
    if turn.session.outcome is SurveyOutcome.IN_PROGRESS:
        turn.session.outcome = SurveyOutcome.COMPLETED
    if extra:
        turn.say(extra)
    db.session.commit()
    lifecycle.survey_finished(turn.session)
    return turn.hangup(turn.version.goodbye)


STEPS: dict[str, Callable[[Turn], VoiceResponse]] = {
    "start": start,
    "q": on_question,
    "consent": on_consent,
    "recorded": on_recorded,
    "no-comment": ask_callback,
    "offer": on_offer,
    "number": on_number,
    "enter": on_new_number,
    "confirm": on_confirm_number,
    "when": on_when,
    "transferred": on_transferred,
}
