"""A text Twilio accepted while ``messages.create`` failed for us (the answer was lost):
one row, the text itself, with Twilio's status, whichever comes first.

Twilio queues the text and posts its status callbacks at once; when the API call then
fails on our side (a connection dropped before the answer), ``send_text`` never learns the
sid. The callback names the text in its URL, so it lands on the text, not on a placeholder
row left beside a text marked "failed".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from flask import Flask

from core import contacts
from core.db import db
from core.models import Event
from tests.conftest import CUSTOMER, twilio_post
from tests.factories import finished_session
from texts import consent, outbound
from texts.models import TextMessage

SID = "SM" + "d" * 32
NOON = datetime(2025, 6, 4, 19, 0, tzinfo=UTC)  # 12:00 in San Francisco (CUSTOMER)


class LostAnswer:
    """``twilio_client()`` whose ``messages.create`` is accepted, then fails for us;
    ``during`` runs (to its end, in another thread) before it fails."""

    def __init__(self, during: Callable[[str], None] | None = None) -> None:
        self.during, self.status_callback = during, ""
        self.messages = self

    def __call__(self) -> LostAnswer:
        return self

    def create(self, **kwargs: Any) -> Any:
        self.status_callback = kwargs["status_callback"]
        if self.during is not None:
            other = threading.Thread(target=self.during, args=(self.status_callback,))
            other.start()
            other.join(30)
        raise requests.ConnectionError("connection reset before Twilio's answer")


def report(app: Flask, url: str, value: str, to: str = CUSTOMER) -> None:
    """Twilio's status callback for the text, posted to the URL it was given."""
    path = url.removeprefix(app.config["PUBLIC_BASE_URL"])
    params = {"MessageSid": SID, "MessageStatus": value, "To": to}
    with app.app_context():
        assert twilio_post(app.test_client(), app, path, params).status_code == 204
        db.session.remove()


def send(app: Flask, monkeypatch: pytest.MonkeyPatch, twilio: LostAnswer) -> TextMessage:
    consent.grant(contacts.get_or_create(CUSTOMER), "test")
    session = finished_session()
    db.session.commit()
    monkeypatch.setattr(outbound, "twilio_client", twilio)
    message = outbound.send_text(CUSTOMER, "Hello", purpose="test", session_id=session.id, now=NOON)
    assert message is not None
    return message


def the_texts() -> list[tuple[str | None, str, int | None]]:
    db.session.expire_all()
    rows = db.session.scalars(db.select(TextMessage).order_by(TextMessage.id))
    return [(row.sid, row.status, row.session_id) for row in rows]


def outcome_events() -> list[tuple[int | None, int]]:
    events = db.session.scalars(db.select(Event).where(Event.kind == "text.delivered"))
    return [(e.session_id, e.data["message_id"]) for e in events]


def test_delivered_reported_before_the_send_failed_is_the_texts_status(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "delivered" came while messages.create was still failing: the text has the sid and
    stays delivered; the failure does not write over it, and no placeholder is left."""
    twilio = LostAnswer(lambda url: report(app, url, "delivered"))
    message = send(app, monkeypatch, twilio)
    assert message.status == "delivered"
    assert the_texts() == [(SID, "delivered", message.session_id)]
    assert outcome_events() == [(message.session_id, message.id)]


def test_delivered_reported_after_the_send_failed_replaces_the_failure(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send was marked failed, then Twilio reports the text sent and delivered: Twilio's
    word stands on the text itself (a repeat or a late "sent" changes nothing)."""
    twilio = LostAnswer()
    message = send(app, monkeypatch, twilio)
    assert the_texts() == [(None, "failed", message.session_id)]
    report(app, twilio.status_callback, "sent")
    report(app, twilio.status_callback, "delivered")
    report(app, twilio.status_callback, "sent")
    assert the_texts() == [(SID, "delivered", message.session_id)]
    assert outcome_events() == [(message.session_id, message.id)]


def test_a_send_twilio_never_accepted_stays_failed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No callback ever comes: the text is failed, as before."""
    message = send(app, monkeypatch, LostAnswer())
    assert message.status == "failed"
    assert the_texts() == [(None, "failed", message.session_id)]


def test_a_callback_for_another_number_does_not_take_over_the_text(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callback naming this text but sent to someone else: the text keeps its own status
    and gets no sid; what was reported is kept apart, on its own row, for its own sid."""
    twilio = LostAnswer()
    message = send(app, monkeypatch, twilio)
    report(app, twilio.status_callback, "delivered", to="+14155550999")
    assert the_texts() == [(None, "failed", message.session_id), (SID, "delivered", None)]
    assert message.id not in [named for _, named in outcome_events()]
