"""Telling supervisors, on every channel configured: ``ESCALATION_WEBHOOK_URL`` (JSON POST),
``ESCALATION_SMS_TO`` (a text from ``TWILIO_PHONE_NUMBER``) and ``ESCALATION_EMAIL_TO`` (via
``SMTP_HOST``). Missed callback deadlines and rising themes both go through ``supervisors``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import requests
from flask import current_app

from core.twilio_rest import twilio_client

log = logging.getLogger(__name__)


def supervisors(
    body: dict[str, Any], text: str, subject: str, *, sms: bool = True
) -> dict[str, bool]:
    """Send ``body`` to the webhook and ``text`` by SMS (unless ``sms`` is False) and
    e-mail; returns which configured channels delivered. A failing channel is logged and
    the others still go: a notification must never undo what it reports."""
    cfg = current_app.config
    sent: dict[str, bool] = {}
    if cfg.get("ESCALATION_WEBHOOK_URL"):
        sent["webhook"] = _guard("webhook", lambda: _post(cfg["ESCALATION_WEBHOOK_URL"], body))
    if sms and cfg.get("ESCALATION_SMS_TO"):
        sent["sms"] = _guard("sms", lambda: _sms(cfg["ESCALATION_SMS_TO"], text))
    if cfg.get("ESCALATION_EMAIL_TO") and cfg.get("SMTP_HOST"):
        sent["email"] = _guard("email", lambda: _email(cfg["ESCALATION_EMAIL_TO"], subject, text))
    return sent


def _guard(channel: str, send: Callable[[], None]) -> bool:
    try:
        send()
    except Exception:  # one channel's failure must not stop the others
        log.exception("supervisor %s notification failed", channel)
        return False
    return True


def _post(url: str, body: dict[str, Any]) -> None:
    response = requests.post(url, json=body, timeout=5)
    response.raise_for_status()


def _sms(to: str, text: str) -> None:
    twilio_client().messages.create(
        to=to, from_=current_app.config["TWILIO_PHONE_NUMBER"], body=text
    )


def _email(to: str, subject: str, text: str) -> None:
    cfg = current_app.config
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = cfg["ESCALATION_EMAIL_FROM"]
    message["To"] = to
    message.set_content(text)
    with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=10) as smtp:
        smtp.send_message(message)
