"""Twilio Messaging webhooks: a text comes in (``/twilio/sms``), a text's status changes
(``/twilio/sms/status``). Signed and checked exactly like the voice webhooks."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from twilio.twiml.messaging_response import MessagingResponse

from core.db import db
from core.twilio_auth import twilio_signed
from core.twilio_params import BadParameter, clean
from texts import inbound, status

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/twilio/sms")


def bad_request(exc: BadParameter) -> Response:
    return Response(str(exc), status=400, mimetype="text/plain")


def messaging(replies: list[str]) -> Response:
    """TwiML with one ``<Message>`` per reply, or an empty ``<Response/>``."""
    response = MessagingResponse()
    for body in replies:
        response.message(body)
    return Response(str(response), mimetype="text/xml")


@bp.post("")
@twilio_signed
def incoming() -> Response:
    try:
        params = clean(request.form, ("MessageSid", "From"))
    except BadParameter as exc:
        return bad_request(exc)
    try:
        return messaging(inbound.receive(params))
    except (OperationalError, PoolTimeout):
        raise  # a short 503 (core.errors): Twilio tries the fallback URL
    except Exception:
        # receive answers its own faults with an apology; this is one in storing the text
        # or in the apology itself: nothing half-done is kept, and no reply beats a wrong one.
        db.session.rollback()
        log.exception("incoming text %s failed", params["MessageSid"])
        return messaging([])


@bp.post("/status")
@twilio_signed
def status_callback() -> Response:
    try:
        params = clean(request.form, ("MessageSid", "MessageStatus"))
    except BadParameter as exc:
        return bad_request(exc)
    status.on_status_callback(params, _text_id(request.args.get("text", "")))
    return Response(status=204)


def _text_id(given: str) -> int | None:
    """The text ``send_text`` named in the callback's URL; None if none (or not an id)."""
    if not (given.isascii() and given.isdigit() and len(given) <= 18):
        return None
    value = int(given)
    return value if 0 < value < 2**31 else None  # ids are 32-bit integers
