"""A text's delivery status: forward only, whatever order Twilio's callbacks come in.

Every move is one conditional ``UPDATE ... WHERE sid = ? AND status <ranked lower>``, so
the rank is checked by the database against the row as it is when written, not against
a copy read earlier: Twilio may post a text's callbacks at once, and a "sent" read before
a "delivered" was committed must not write over it (Twilio does not send them again).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from core import events, forward
from core.db import db
from core.models import Event
from texts.models import FAILED, STATUS_RANK, Direction, TextMessage

log = logging.getLogger(__name__)

OUTCOMES = ("delivered", *sorted(FAILED))  # put on the session's timeline


def advance(sid: str, status: str, error_code: str | None = None) -> bool:
    """Move the text ``sid`` to ``status`` if that is later in a text's life; True if it moved."""
    values = {"error_code": _code(error_code)} if error_code else {}
    return forward.move_forward(
        TextMessage.status,
        TextMessage.sid == sid,
        status,
        among=STATUS_RANK,
        rank=_rank,
        or_unranked=True,  # a status Twilio added since is no reason to stop
        values=values,
    )


def adopt_placeholder(message: TextMessage, sid: str) -> None:
    """Give ``message`` its ``sid``, folding in what a status callback that beat Twilio's
    answer stored under it (a placeholder row).

    The placeholder is deleted and read in one statement (``RETURNING``): a callback
    committed on it a moment before is folded in, one a moment after finds the real row.
    """
    early = db.session.execute(
        db.delete(TextMessage)
        .where(TextMessage.sid == sid, TextMessage.id != message.id)
        .returning(TextMessage.status, TextMessage.error_code)
        .execution_options(synchronize_session=False)
    ).first()
    message.sid = sid
    db.session.flush()
    if early is not None:
        advance(sid, early.status, early.error_code)
        _take_outcome(message, sid)
    db.session.expire(message, ["status", "error_code"])


def _take_outcome(message: TextMessage, sid: str) -> None:
    """The outcome a callback put on the timeline for the placeholder (no session, its id
    now deleted) becomes the text's: on its session's timeline, naming it. Any such event
    is committed by now: the placeholder's DELETE waited for the callback that wrote it."""
    keys = [_outcome_key(sid, outcome) for outcome in OUTCOMES]
    for event in db.session.scalars(db.select(Event).where(Event.dedupe_key.in_(keys))):
        event.session_id = message.session_id
        event.data = {**event.data, "message_id": message.id}


def give_up(message: TextMessage, error_code: str | None = None) -> None:
    """``messages.create`` failed: the text is "failed", unless Twilio reported on it
    meanwhile (it may have accepted the text and lost only its answer to us: ``claim``)."""
    forward.move_forward(
        TextMessage.status,
        (TextMessage.id == message.id) & TextMessage.sid.is_(None),
        "failed",
        among=("pending",),
        rank=_rank,
        copy=message,
        values={"error_code": _code(error_code)},
    )
    db.session.commit()


def claim(text_id: int, number: str, sid: str, status: str, error_code: str | None) -> bool:
    """The text ``text_id`` (named by the callback's URL) to ``number`` (the callback's
    ``To``) has no sid yet: it takes ``sid`` and Twilio's ``status``; True if it did.

    ``send_text`` may never learn the sid (``messages.create`` failed after Twilio
    accepted the text): the callback names the text, so no placeholder is left behind
    beside it, and Twilio's word replaces a "failed" that only meant our answer was lost.
    The number must match too: a callback for another message, naming a text id it was
    not sent for, cannot take over a pending text to someone else.
    """
    result = db.session.execute(
        update(TextMessage)
        .where(TextMessage.id == text_id, TextMessage.sid.is_(None))
        .where(TextMessage.direction == Direction.OUTBOUND, TextMessage.number == number)
        .values(sid=sid, status=status, error_code=_code(error_code))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def on_status_callback(params: Mapping[str, str], text_id: int | None = None) -> TextMessage | None:
    """Apply one ``/twilio/sms/status`` request; a repeat or a late one changes nothing.

    The callback can arrive before ``messages.create`` has answered us (Twilio queues the
    text at once): the text its URL names (``text_id``) takes the sid; a callback naming
    none (sent before URLs named the text) gets a placeholder row that ``send_text`` folds
    into the real one when it learns the sid; a callback racing that fold tries again.
    """
    for _ in range(3):
        try:
            return _apply(params, text_id)
        except IntegrityError:
            db.session.rollback()
    log.error(
        "status %s of text %s could not be stored",
        params.get("MessageStatus"),
        params["MessageSid"],
    )
    return None


def _apply(params: Mapping[str, str], text_id: int | None) -> TextMessage:
    sid = params["MessageSid"]
    status = params["MessageStatus"]
    error_code = params.get("ErrorCode") or None
    moved = advance(sid, status, error_code)
    message = _find(sid)
    if message is None and text_id is not None:
        moved = claim(text_id, params.get("To", ""), sid, status, error_code)
        message = _find(sid)  # claimed, or by another callback or send_text meanwhile
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
        moved = advance(sid, status, error_code)
        db.session.refresh(message)
    elif not moved and _rank(message.status) < _rank(status):
        # On PostgreSQL an UPDATE that waited on the placeholder send_text was deleting
        # skips the real row given the sid in that same commit; a new statement sees it.
        moved = advance(sid, status, error_code)
        db.session.refresh(message)
    # Otherwise _find read the row after this callback's own UPDATE: no second read.
    if moved and status in OUTCOMES:  # the outcome, not every step, on the timeline
        events.record(
            f"text.{status}",
            session=message.session,
            data={"message_id": message.id, "error_code": message.error_code},
            dedupe_key=_outcome_key(sid, status),
        )
    db.session.commit()
    return message


def _find(sid: str) -> TextMessage | None:
    """The row for ``sid`` as the database has it now, not as the session last saw it."""
    query = db.select(TextMessage).where(TextMessage.sid == sid)
    row: TextMessage | None = db.session.scalar(query.execution_options(populate_existing=True))
    return row


def _outcome_key(sid: str, status: str) -> str:
    return f"text-status:{sid}:{status}"


def _code(error_code: str | None) -> str | None:
    """Twilio's error code as stored (its column holds 8 characters)."""
    return error_code[:8] if error_code else None


def _rank(status: str) -> int:
    return STATUS_RANK.get(status, -1)
