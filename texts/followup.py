"""The follow-up after a callback, by text: "Did we put it right?" and the customer's reply.

``send`` texts the question (``texts.outbound.send_text``) and opens a conversation of kind
``follow_up`` pointing at the task, so the reply comes to ``on_reply``; the reply is read by
the survey's own reader and stored through ``callbacks.followup`` (which reopens the task on
1-3). When and whether to ask is ``callbacks.followup``'s decision; ``workers.jobs`` calls
this once it has claimed the follow-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from callbacks import followup
from core import contacts
from core.db import db
from replies.answers import Intent
from texts import conversations, wording
from texts.keywords import SOURCE
from texts.models import TextConversation, TextMessage
from texts.outbound import send_text

KIND = "follow_up"
REPLY_WINDOW = timedelta(days=3)  # a reply later than this is not read as the score
MAX_TRIES = 3
HOW = "Reply with a number from 1 (not at all) to 5 (completely)."
THANKS = "Thank you, that helps us a lot."
SORRY = "Thank you for telling us. We're sorry we didn't get it right: a supervisor will call you."
PERSON = "Of course. A supervisor will call you back."


def question() -> str:
    """The first text of the exchange: who we are, the question, how to stop."""
    name = current_app.config["TEXT_SENDER_NAME"]
    return (
        f"{name}: thanks for talking with our team about your recent call. "
        f"{followup.QUESTION} {HOW} (Reply STOP to opt out.)"
    )


def send(number: str, task_id: int, now: datetime) -> TextMessage | None:
    """Text the question and wait for the reply; None when the text may not go now."""
    message = send_text(number, question(), purpose=KIND, task_id=task_id, now=now)
    if message is None or message.failed:
        return message
    conversations.open_conversation(
        message.number,
        KIND,
        lasts=REPLY_WINDOW,
        contact_id=message.contact_id,
        task_id=task_id,
        now=now,
    )
    db.session.commit()
    return message


def on_reply(conversation: TextConversation, message: TextMessage) -> list[str]:
    """A reply to the question: a score 1-5 (digits or words), a request, or asked again."""
    task_id = conversation.task_id or 0
    reading = followup.read("", message.body)
    now = message.created_at
    if reading.intent is Intent.OPT_OUT:  # "stop texting me": the same opt-out as STOP
        contacts.opt_out(contacts.find(message.number), source=SOURCE)
        conversations.close_all(message.number, "opted_out", now)
        return [wording.OPTED_OUT]
    if reading.value is not None:
        said = followup.record_follow_up(task_id, reading.value, "sms", now=now)
        conversations.close(conversation, "answered", now=now, tell=False)
        return [SORRY if said == "reopened" else THANKS]
    if reading.intent is Intent.HUMAN:
        followup.wants_person(task_id, "sms", now=now)
        conversations.close(conversation, "person", now=now, tell=False)
        return [PERSON]
    if conversation.tries >= MAX_TRIES:
        conversations.close(conversation, "no_answer", now=now, tell=False)
        return []
    conversation.tries += 1
    return [f"{wording.REPROMPT} {ask(conversation)[0]}"]


def ask(conversation: TextConversation) -> list[str]:
    """The question, asked again (after a reprompt, or a reply we failed to take)."""
    return [f"{followup.QUESTION} {HOW}"]


conversations.register(KIND, on_reply, ask=ask)
