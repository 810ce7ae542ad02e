"""Texts a phone sends to the company number, delivered to the app as Twilio delivers them.

Twilio posts an incoming text to the number's "A message comes in" webhook, form-encoded
and signed (``X-Twilio-Signature``), and sends back every ``<Message>`` of the TwiML the
app answers with. Carrier keywords are Twilio's, with its default opt-out handling:

* STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT: Twilio texts its own confirmation, blocks
  further texts from the company number to the phone (``Messages.create`` answers error
  21610) and drops the app's TwiML reply, but still forwards the text to the webhook;
* START, UNSTOP, YES: the block is lifted (the app's reply is sent);
* HELP, INFO and anything else: forwarded; the app's reply is sent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

import requests

from simulator.sids import API_VERSION
from simulator.webhooks import RecordedRequest, WebhookSender, delivery_url, signed_base

__all__ = ["OPT_IN", "OPT_OUT", "STOP_CONFIRMATION", "post_incoming", "twiml_messages"]

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "UNSTOP", "YES"})
STOP_CONFIRMATION = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
BLOCKED = 21610  # "Attempt to send to unsubscribed recipient"


def keyword(body: str) -> str | None:
    """``opt_out``, ``opt_in`` or None: the whole message, trimmed, in any case."""
    word = body.strip().upper()
    return "opt_out" if word in OPT_OUT else "opt_in" if word in OPT_IN else None


def incoming_params(
    *, sid: str, account_sid: str, from_: str, to: str, body: str
) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS."""
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


def post_incoming(
    url: str, params: Mapping[str, str], *, auth_token: str, app_base_url: str | None = None
) -> RecordedRequest:
    """Post the signed webhook and record what came back."""
    with requests.Session() as http:
        sender = WebhookSender(auth_token, http, signed_base(url, app_base_url))
        return sender.send("sms", delivery_url(url, app_base_url), params, "POST")


def twiml_messages(answer: RecordedRequest) -> list[str]:
    """The bodies of the ``<Message>`` verbs in the app's answer (none if it failed)."""
    if answer.status_code is None or not 200 <= answer.status_code < 300 or not answer.body:
        return []
    try:
        root = ET.fromstring(answer.body)  # noqa: S314 - our own app's TwiML
    except ET.ParseError:
        return []
    bodies = []
    for message in root.iter("Message"):
        nested = message.find("Body")
        text = nested.text if nested is not None else message.text
        if text and text.strip():
            bodies.append(text.strip())
    return bodies
