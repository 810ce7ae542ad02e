"""A text's delivery status: forward only, whatever order Twilio's callbacks come in."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from core import events
from core.db import db
from texts.models import FAILED, STATUS_RANK, Direction, TextMessage

log = logging.getLogger(__name__)


def advance(message: TextMessage, status: str, error_code: str | None = None) -> bool:
    """Move ``message`` to ``status`` if that is later in a text's life; True if it moved."""
    if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(message.status, -1):
        return False
    message.status = status
    if error_code:
        message.error_code = error_code[:8]
    return True


def adopt_placeholder(message: TextMessage, sid: str) -> None:
    """A status callback that beat Twilio's answer left a row for ``sid``: fold it in."""
    early = db.session.scalar(db.select(TextMessage).where(TextMessage.sid == sid))
    if early is None or early.id == message.id:
        return
    advance(message, early.status, early.error_code)
    db.session.delete(early)
    db.session.flush()


def on_status_callback(params: Mapping[str, str]) -> TextMessage | None:
    """Apply one ``/twilio/sms/status`` request; a repeat or a late one changes nothing.

    The callback can arrive before ``messages.create`` has answered us (Twilio queues the
    text at once), so an unknown MessageSid gets a placeholder row that ``send_text`` folds
    into the real one when it learns the sid; a callback racing that fold tries again.
    """
    for _ in range(3):
        try:
            return _apply(params)
        except (StaleDataError, IntegrityError):
            db.session.rollback()
    log.error(
        "status %s of text %s could not be stored",
        params.get("MessageStatus"),
        params["MessageSid"],
    )
    return None


def _apply(params: Mapping[str, str]) -> TextMessage:
    sid = params["MessageSid"]
    status = params["MessageStatus"]
    message = db.session.scalar(db.select(TextMessage).where(TextMessage.sid == sid))
    if message is None:
        placeholder = TextMessage(
            sid=sid,
            direction=Direction.OUTBOUND,
            number=params.get("To", "")[:20],
            body="",
            status="pending",
            purpose="unknown",
        )
        message = events.insert_or_get(placeholder, TextMessage.sid == sid)
    moved = advance(message, status, params.get("ErrorCode") or None)
    if moved and status in ("delivered", *FAILED):  # the outcome, not every step, on the timeline
        events.record(
            f"text.{status}",
            session=message.session,
            data={"message_id": message.id, "error_code": message.error_code},
            dedupe_key=f"text-status:{sid}:{status}",
        )
    db.session.commit()
    return message
