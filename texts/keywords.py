"""Carrier keywords, as Twilio documents them: the whole message, trimmed, any case.

* STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT: the number is opted out of every channel
  (texts, voice surveys, callbacks) through ``core.contacts.opt_out``, the same opt-out as
  pressing 9. Twilio itself confirms it and blocks our texts to the number, so we answer
  nothing. A callback the customer asked for in the same text conversation still happens,
  as on a call: the survey re-evaluates it after the opt-out (``texts.survey``).
* START, UNSTOP (and YES, when texts are off for the number): texts only are back on;
  voice surveys stay off. Only a number that gave permission before is re-subscribed.
* HELP, INFO: who we are and how to stop.

"STOP please" is not a keyword (Twilio does not treat it as one either); the survey reads
it as a reply.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask import current_app

from core import consents, contacts, events
from core.models import Contact
from texts import conversations

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
SOURCE = "sms_keyword"


class Keyword(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def read(body: str, *, texts_on: bool) -> Keyword | None:
    """The keyword a whole message is, if any. YES opts in only while texts are off, since
    otherwise it answers a question."""
    word = body.strip().upper()
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS or (word == "YES" and not texts_on):
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


def help_text() -> str:
    cfg = current_app.config
    return (
        f"{cfg['TEXT_SENDER_NAME']}: texts about your support calls. Reply STOP to stop all "
        f"texts and survey calls, START to get texts again. Questions? Call "
        f"{cfg['TWILIO_PHONE_NUMBER']}. Msg & data rates may apply."
    )


def apply(keyword: Keyword, contact: Contact, now: datetime) -> list[str]:
    """Do what the keyword asks; returns the replies to send (none for STOP)."""
    if keyword is Keyword.OPT_OUT:
        contacts.opt_out(contact, source=SOURCE)
        conversations.close_all(contact.phone, "opted_out", now)
        return []
    if keyword is Keyword.HELP:
        events.record("texts.help", data={"contact_id": contact.id})
        return [help_text()]
    name = current_app.config["TEXT_SENDER_NAME"]
    if not consents.ever_granted(contact):
        return [f"{name}: you have no texts from us to restart. Reply HELP for help."]
    consents.grant(contact, SOURCE)  # stamped like the opt-out it follows: the real clock
    calls = " Survey calls stay off." if contact.opted_out_at is not None else ""
    return [f"{name}: texts from us are back on.{calls} Reply HELP for help, STOP to stop."]
