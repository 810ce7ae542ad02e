"""Twilio Messaging webhooks: a text comes in (``/twilio/sms``), a text's status changes
(``/twilio/sms/status``). Signed and checked exactly like the voice webhooks."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from core.twilio_auth import twilio_signed
from core.twilio_params import BadParameter, clean
from texts import status

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/twilio/sms")


def bad_request(exc: BadParameter) -> Response:
    return Response(str(exc), status=400, mimetype="text/plain")


@bp.post("/status")
@twilio_signed
def status_callback() -> Response:
    try:
        params = clean(request.form, ("MessageSid", "MessageStatus"))
    except BadParameter as exc:
        return bad_request(exc)
    status.on_status_callback(params)
    return Response(status=204)
