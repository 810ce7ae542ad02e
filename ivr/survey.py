"""The voice survey flow: one function per step, each returning the caller's next TwiML.

Every Gather posts back to ``/twilio/voice/survey?step=...``; the query string says what
the reply answers (signed by Twilio with the rest of the URL), the database says what was
already answered, so a retried webhook never stores an answer twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from core import events
from core.db import db
from core.models import (
    Answer,
    QuestionKind,
    SurveyVersion,
)
from core.survey_cache import QuestionSnapshot, VersionSnapshot
from ivr import lifecycle
from ivr.comment import ask_consent, on_consent, on_recorded
from ivr.person import (
    ask_callback,
    ask_texts_or_finish,
    confirm_opt_out,
    offer_human,
    on_confirm_number,
    on_new_number,
    on_number,
    on_offer,
    on_texts,
    on_transferred,
    on_when,
    opt_out,
)
from ivr.sessions import load_session
from ivr.turn import MAX_TRIES, CallInput, Turn, step_url
from replies.answers import Intent, Reading, escape_keys, read_reply

CARRY_ON = "No problem, let's carry on."
HEARD_LIMIT = 500  # characters of a doubted reply carried in the read-back URL
# "Press 2 to carry on": said instead of pressed, it declines the opt-out.
_CARRY_ON_WORDS = re.compile(r"\b(?:carry on|continue|keep going|go on with|the survey)\b", re.I)


@dataclass(frozen=True)
class Reply:
    """The reply an answer is stored from: this request's, or one read back and confirmed."""

    digits: str | None
    speech: str | None
    confidence: float | None
    tries: int

    @classmethod
    def of(cls, inp: CallInput) -> Reply:
        return cls(inp.digits or None, inp.speech or None, inp.confidence, inp.tries)


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
    if turn.answered and not turn.finished:
        lifecycle.owe_retelling(session)
    db.session.commit()  # the turn's one commit; jobs are enqueued only after it
    if turn.finished:
        lifecycle.survey_finished(session.id)
    elif turn.answered:
        lifecycle.answered(session)
    return reply


def start(turn: Turn) -> VoiceResponse:
    turn.say(turn.version.greeting)
    turn.say(key_promise(turn.version))
    return ask_question(turn, 0)


KEY_NAMES = {"*": "star", "#": "pound"}
KEY_DOES = {Intent.HUMAN: "to speak with a person", Intent.OPT_OUT: "to stop these surveys"}


def _press(keys: Mapping[str, Intent]) -> str:
    """ "press 0 or star to speak with a person, or 9 to stop these surveys"."""
    ordered = sorted(keys, key=lambda key: (not key.isdigit(), key))
    said = [
        f"{' or '.join(KEY_NAMES.get(k, k) for k in ordered if keys[k] is intent)} {does}"
        for intent, does in KEY_DOES.items()
        if intent in keys.values()
    ]
    return "press " + ", or ".join(said)


def key_promise(version: SurveyVersion | VersionSnapshot) -> str:
    """What the keys do, said after the greeting, from the keys the flow really honours.

    Built from ``escape_keys`` for the first question and for every step after it (the
    other questions, the recording consent and the callback offer, which read replies as
    any question), so the promise cannot drift from the keypad: on the 0-10 question 0 and
    9 are scores and only star reaches a person.
    """
    kinds = [q.kind for q in version.questions]
    after = [escape_keys(kind) for kind in kinds[1:]] + [escape_keys(None)]
    later = {k: i for k, i in after[0].items() if all(step.get(k) is i for step in after)}
    first = escape_keys(kinds[0]) if kinds else later
    spoken = "You can also ask for either in your own words."
    if first == later:
        return f"On any question, {_press(later)}. {spoken}"
    return (
        f"On the first question, {_press(first)}. "
        f"On the questions after it, {_press(later)}. {spoken}"
    )


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
    reading = read_reply(question.kind, turn.inp.digits, turn.inp.speech)
    if turn.inp.digits:  # keys act at once: 9 opts out, 0 or * reaches a person
        if reading.intent is Intent.OPT_OUT:
            return opt_out(turn)
        if reading.intent is Intent.HUMAN:
            return offer_human(turn)
    elif turn.unsure and (reading.value is not None or reading.intent is Intent.HUMAN):
        return ask_check(turn, position, reading, turn.inp.tries)
    return answer_question(turn, position, reading, Reply.of(turn.inp))


def answer_question(turn: Turn, position: int, reading: Reading, reply: Reply) -> VoiceResponse:
    """Act on a reply we believe: store the score, then do what the caller asked."""
    question = turn.version.questions[position]
    if reading.empty and reply.tries < MAX_TRIES:
        return ask_question(turn, position, reply.tries + 1)
    if reading.value is not None or reading.empty:  # the last try unanswered is stored as such
        store_answer(turn, question, reading.value, reply)
    if reading.intent is Intent.OPT_OUT:  # spoken: confirmed first, since it is for good
        return confirm_opt_out(turn, "q", {"n": position, "t": reply.tries})
    if reading.intent is Intent.HUMAN:
        return offer_human(turn)
    return ask_question(turn, position + 1)


def ask_check(turn: Turn, position: int, reading: Reading, tries: int) -> VoiceResponse:
    """Read a reply Twilio doubts back to the caller instead of guessing."""
    question = turn.version.questions[position]
    heard = [] if reading.value is None else [_say_value(question.kind, reading.value)]
    if reading.intent is Intent.HUMAN:
        heard.append("that you'd like to speak with a person")
    turn.gather(
        f"I heard {', and '.join(heard)}. Press 1 if that's right, or 2 to answer again.",
        "check",
        num_digits=1,
        hints="yes, no, that's right, wrong",
        params={
            "n": position,
            "t": tries,
            "v": "" if reading.value is None else reading.value,
            "i": reading.intent or "",
            "heard": turn.inp.speech[:HEARD_LIMIT],
            "c": "" if turn.inp.confidence is None else turn.inp.confidence,
        },
    )
    return turn.response


def _say_value(kind: QuestionKind, value: int) -> str:
    if kind is QuestionKind.YES_NO:
        return "yes" if value else "no"
    return str(value)


def on_check(turn: Turn) -> VoiceResponse:
    """The caller's answer to "I heard eight, is that right?"."""
    args = turn.inp.args
    position, tries = int(args.get("n", "0")), int(args.get("t", "1"))
    if position >= len(turn.version.questions):
        return ask_consent(turn)
    reply = read_reply(None, turn.inp.digits, turn.inp.speech)
    if turn.inp.digits and reply.intent is Intent.OPT_OUT:
        return opt_out(turn)
    if reply.intent is Intent.OPT_OUT:
        return confirm_opt_out(turn, "q", {"n": position, "t": tries})
    confidence = float(args["c"]) if args.get("c") else None
    heard = Reply(None, args.get("heard") or None, confidence, tries)
    if reply.value == 1 and not turn.unsure:
        reading = Reading(
            value=int(args["v"]) if args.get("v") else None,
            intent=Intent(args["i"]) if args.get("i") else None,
        )
        return answer_question(turn, position, reading, heard)
    if reply.intent is Intent.HUMAN:
        return offer_human(turn)
    # "No", or still unclear: the question again, never the doubtful value.
    turn.lead = "Sorry about that." if reply.value == 0 else None
    return answer_question(turn, position, Reading(), heard)


def on_opt_out_check(turn: Turn) -> VoiceResponse:
    """The caller's answer to "You'd like no more surveys from us, press 1 to confirm"."""
    reply = read_reply(None, turn.inp.digits, turn.inp.speech)
    # 1, yes, 9, or the opt-out said again; a "yes" Twilio doubts is asked again.
    if (reply.value == 1 or reply.intent is Intent.OPT_OUT) and not turn.unsure:
        return opt_out(turn, source="voice")
    if reply.intent is Intent.HUMAN:
        return offer_human(turn)
    back, args = turn.inp.args.get("back", "q"), turn.inp.args
    declined = reply.value == 0 or bool(_CARRY_ON_WORDS.search(turn.inp.speech))
    if not declined and turn.inp.tries < MAX_TRIES:
        params = {k: args[k] for k in ("n", "t") if k in args}
        return confirm_opt_out(turn, back, params, turn.inp.tries + 1)
    # Declined, or never clearly confirmed: no clear yes means the caller stays in.
    events.record("caller.opt_out_declined", session=turn.session, data={"at": back})
    turn.lead = CARRY_ON
    return RESUME.get(back, _resume_question)(turn, args)


def _resume_question(turn: Turn, args: Mapping[str, str]) -> VoiceResponse:
    """Back to the question the caller was on, or the next one if it was answered."""
    position, tries = int(args.get("n", "0")), int(args.get("t", "1"))
    questions = turn.version.questions
    answered = {a.question_id for a in turn.session.answers}
    if position < len(questions) and questions[position].id in answered:
        return ask_question(turn, position + 1)
    return ask_question(turn, position, tries + 1)


RESUME: dict[str, Callable[[Turn, Mapping[str, str]], VoiceResponse]] = {
    "q": _resume_question,
    "consent": lambda turn, args: ask_consent(turn, int(args.get("t", "1")) + 1),
    "offer": lambda turn, args: ask_callback(turn, int(args.get("t", "1")) + 1),
    "texts": lambda turn, args: ask_texts_or_finish(turn, tries=int(args.get("t", "1")) + 1),
}


def store_answer(
    turn: Turn, question: QuestionSnapshot, value: int | None, reply: Reply | None = None
) -> Answer:
    """Keep the first answer given to a question; a repeated webhook changes nothing.

    After a read-back the reply stored is the one read back, not the "yes" to it.
    """
    reply = reply or Reply.of(turn.inp)
    existing = next((a for a in turn.session.answers if a.question_id == question.id), None)
    if existing is not None:
        return existing
    turn.answered = True
    answer = Answer(
        session_id=turn.session.id,
        question_id=question.id,
        digits=reply.digits,
        speech=reply.speech,
        confidence=reply.confidence,
        value=value,
        attempts=reply.tries,
    )
    answer = events.insert_or_get(
        answer, (Answer.session_id == turn.session.id) & (Answer.question_id == question.id)
    )
    db.session.refresh(turn.session, ["answers"])
    return answer


STEPS: dict[str, Callable[[Turn], VoiceResponse]] = {
    "start": start,
    "q": on_question,
    "check": on_check,
    "optout": on_opt_out_check,
    "consent": on_consent,
    "recorded": on_recorded,
    "no-comment": ask_callback,
    "offer": on_offer,
    "number": on_number,
    "enter": on_new_number,
    "confirm": on_confirm_number,
    "when": on_when,
    "texts": on_texts,  # may we text you? (survey versions with offer_texts)
    "transferred": on_transferred,
}
