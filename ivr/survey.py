"""The voice survey flow: one function per step, each returning the caller's next TwiML.

Every Gather posts back to ``/twilio/voice/survey?step=...``; the query string says what
the reply answers (signed by Twilio with the rest of the URL), the database says what was
already answered, so a retried webhook never stores an answer twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from twilio.twiml.voice_response import VoiceResponse

from core import events
from core.db import db
from core.models import (
    Answer,
    Question,
    QuestionKind,
)
from ivr.answers import Intent, detect_intent, parse_answer
from ivr.comment import ask_consent, on_consent, on_recorded
from ivr.person import (
    ask_callback,
    offer_human,
    on_confirm_number,
    on_new_number,
    on_number,
    on_offer,
    on_transferred,
    on_when,
    opt_out,
)
from ivr.sessions import load_session
from ivr.turn import MAX_TRIES, CallInput, Turn, step_url

log = logging.getLogger(__name__)


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
