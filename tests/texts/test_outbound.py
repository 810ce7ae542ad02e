"""send_text: permission and the gate first, then Twilio's Messages API with a status callback."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from core import contacts
from core.db import db
from simulator.fake_state import FakeTwilio
from tests.conftest import CUSTOMER
from texts import consent
from texts.models import TextMessage
from texts.outbound import send_text

NOON = datetime(2025, 6, 4, 19, 0, tzinfo=UTC)  # 12:00 in San Francisco (CUSTOMER)
NIGHT = datetime(2025, 6, 5, 7, 0, tzinfo=UTC)  # 00:00 there


def permit(number: str = CUSTOMER) -> None:
    consent.grant(contacts.get_or_create(number), "test")
    db.session.commit()


def test_a_permitted_number_gets_the_text_and_its_delivery_is_recorded(
    app: Flask, fake_twilio: FakeTwilio
) -> None:
    """The text reaches the fake Twilio and its status callbacks mark it delivered."""
    permit()
    message = send_text(CUSTOMER, "Hello from us", purpose="test", now=NOON)
    assert message is not None
    fake_twilio.messages.wait()
    [sent] = fake_twilio.messages.all()
    assert (sent.to, sent.body) == (CUSTOMER, "Hello from us")
    db.session.expire_all()
    stored = db.session.get(TextMessage, message.id)
    assert stored is not None
    assert (stored.sid, stored.status) == (sent.sid, "delivered")


def test_a_number_without_permission_is_not_texted(app: Flask, fake_twilio: FakeTwilio) -> None:
    """No permission: nothing is sent and send_text says so with None."""
    assert send_text(CUSTOMER, "Hello", purpose="test", now=NOON) is None
    assert fake_twilio.messages.all() == []
    assert not consent.may_text(CUSTOMER)


def test_no_text_outside_the_callees_hours(app: Flask, fake_twilio: FakeTwilio) -> None:
    """Midnight where the customer lives: not sent, though they gave permission."""
    permit()
    assert consent.may_text(CUSTOMER)
    assert send_text(CUSTOMER, "Hello", purpose="test", now=NIGHT) is None
    assert fake_twilio.messages.all() == []


def test_any_opt_out_withdraws_permission(app: Flask) -> None:
    """An opt-out on the voice survey (pressing 9) ends permission to text too."""
    permit()
    contacts.opt_out(contacts.find(CUSTOMER), source="keypad")
    db.session.commit()
    assert not consent.may_text(CUSTOMER)
    assert consent.refusal(CUSTOMER) is not None
