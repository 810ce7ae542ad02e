"""A reply to the text survey, read with the voice survey's readers (``replies.answers``
for scores, yes/no and requests; the comment reader for the comment) and stored the same way.

Steps (``TextConversation.step``): ``q:<position>`` for each question, ``comment`` when the
version takes a comment, ``offer`` (a callback), then ``done``. Each is asked at most
``MAX_TRIES`` times, then skipped, as on a call. Asking for a person in words ("can someone
call me") books the callback and ends the survey; "stop texting me" in words opts out,
like STOP.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from core import contacts, events
from core.db import db
from core.models import (
    Answer,
    CallSession,
    Question,
    QuestionKind,
    Recording,
    RecordingStatus,
    SurveyVersion,
)
from replies.answers import Intent, Reading, read_speech
from texts import conversations, survey, wording
from texts.keywords import SOURCE
from texts.models import TextConversation, TextMessage
from transcription import pipeline

log = logging.getLogger(__name__)

MAX_TRIES = 3  # the first ask and two more, as on a call
SKIP = re.compile(r"^\s*(?:skip|no|nope|nothing|no thanks|no thank you|n/?a|none)\W*$", re.I)


def on_reply(conversation: TextConversation, message: TextMessage) -> list[str]:
    """The survey's handler for a reply (registered as kind ``survey``)."""
    session = db.session.get(CallSession, conversation.session_id or 0)
    if session is None or session.survey_version is None or conversation.step == "done":
        return []
    now = message.created_at
    version = session.survey_version
    step = conversation.step or "q:0"
    text = message.body.strip()
    if step.startswith("q:"):
        position = int(step[2:])
        if position >= len(version.questions):
            return next_step(session, conversation, "comment", now)
        question = version.questions[position]
        return on_question(
            session, conversation, question, read_speech(question.kind, text), message
        )
    if step == "comment":
        return on_comment(session, conversation, message, now)
    return on_offer(session, conversation, read_speech(QuestionKind.YES_NO, text), now)


def waiting_for(conversation: TextConversation) -> list[str]:
    """The survey's question, comment or offer the conversation waits for, as asked."""
    session = db.session.get(CallSession, conversation.session_id or 0)
    if session is None or session.survey_version is None:
        return []
    questions = session.survey_version.questions
    step = conversation.step or "q:0"
    if step.startswith("q:") and int(step[2:]) < len(questions):
        return [wording.question(questions[int(step[2:])])]
    return {"comment": [wording.COMMENT], "offer": [wording.OFFER]}.get(step, [])


def on_question(
    session: CallSession,
    conversation: TextConversation,
    question: Question,
    reading: Reading,
    message: TextMessage,
) -> list[str]:
    now = message.created_at
    if reading.intent is Intent.OPT_OUT:
        return opt_out(session, now)
    if reading.value is not None or reading.intent is Intent.HUMAN:
        store(session, question, reading.value, message.body, conversation.tries)
    if reading.intent is Intent.HUMAN:
        return wants_person(session, conversation, now)
    if reading.value is None:
        if conversation.tries < MAX_TRIES:
            conversation.tries += 1
            return [f"{wording.REPROMPT} {wording.question(question)}"]
        store(session, question, None, message.body, conversation.tries)
    return next_step(session, conversation, f"q:{question.position + 1}", now)


def store(
    session: CallSession, question: Question, value: int | None, text: str, tries: int
) -> None:
    """Keep the first answer to a question (a repeated reply changes nothing)."""
    if any(a.question_id == question.id for a in session.answers):
        return
    answer = Answer(
        session_id=session.id,
        question_id=question.id,
        digits=None,
        speech=text[:2000],
        value=value,
        attempts=tries,
    )
    events.insert_or_get(
        answer, (Answer.session_id == session.id) & (Answer.question_id == question.id)
    )
    db.session.refresh(session, ["answers"])


def next_step(
    session: CallSession, conversation: TextConversation, step: str, now: datetime
) -> list[str]:
    """Ask what comes at ``step`` or after it: a question, the comment, the callback offer,
    or, past the end, say goodbye."""
    version: SurveyVersion = session.survey_version  # type: ignore[assignment]
    conversation.tries = 1
    if step.startswith("q:"):
        position = int(step[2:])
        if position < len(version.questions):
            conversation.step = step
            return [wording.question(version.questions[position])]
        step = "comment"
    if step == "comment" and version.record_comment:
        conversation.step = "comment"
        return [wording.COMMENT]
    if step in ("comment", "offer"):
        conversation.step = "offer"
        return [wording.OFFER]
    survey.finish(session, conversation, "finished", now)
    return [wording.goodbye(version)]


def on_comment(
    session: CallSession, conversation: TextConversation, message: TextMessage, now: datetime
) -> list[str]:
    text = message.body.strip()
    if text and not SKIP.match(text):
        keep_comment(session, message, now)
    return next_step(session, conversation, "offer", now)


def keep_comment(session: CallSession, message: TextMessage, now: datetime) -> None:
    """The comment as a recording already transcribed: the recording job reads it with the
    comment reader and runs the callback rules, as after a spoken comment."""
    rec = Recording(
        recording_sid=message.sid or f"TX-{message.id}",
        session_id=session.id,
        consent_given=True,
        status=RecordingStatus.TRANSCRIBED,
        transcript=message.body[:2000],
        transcript_engine="sms",
        media_ready=False,
        twilio_deleted_at=now,  # there is no audio, here or on Twilio, to purge
        created_at=now,
    )
    db.session.add(rec)
    db.session.commit()
    pipeline.enqueue_processing(rec.id)


def on_offer(
    session: CallSession, conversation: TextConversation, reading: Reading, now: datetime
) -> list[str]:
    if reading.intent is Intent.OPT_OUT:
        return opt_out(session, now)
    wants = (
        True
        if reading.intent is Intent.HUMAN
        else None
        if reading.value is None
        else bool(reading.value)
    )
    if wants is None and conversation.tries < MAX_TRIES:
        conversation.tries += 1
        return [f"{wording.REPROMPT} {wording.OFFER}"]
    if wants:
        return wants_person(session, conversation, now)
    session.wants_callback = False
    survey.finish(session, conversation, "finished", now)
    return [wording.goodbye(session.survey_version)]  # type: ignore[arg-type]


def wants_person(session: CallSession, conversation: TextConversation, now: datetime) -> list[str]:
    """A callback to this number, as soon as their calling hours allow."""
    session.asked_for_human = session.asked_for_human or conversation.step != "offer"
    session.wants_callback = True
    session.callback_number = session.customer_number
    session.callback_preference = "now"
    events.record("caller.asked_for_callback", session=session, data={"channel": "sms"})
    survey.finish(session, conversation, "finished", now)
    return [f"{wording.CALLING_YOU} {wording.goodbye(session.survey_version)}"]  # type: ignore[arg-type]


def opt_out(session: CallSession, now: datetime) -> list[str]:
    """Asked in words to stop: the same opt-out as STOP (every channel); the conversation's
    close ends the survey, keeping a callback asked for in it."""
    contacts.opt_out(session.contact, source=SOURCE, session=session)
    conversations.close_all(session.customer_number, "opted_out", now)
    return [wording.OPTED_OUT]


conversations.register(survey.KIND, on_reply, survey.on_close, ask=waiting_for)
