"""Texts fixtures: a phone that texts through the fake Twilio, and a controlled clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from core import contacts
from core.db import db
from simulator.fake_state import FakeTwilio
from simulator.texting import TextingPhone
from tests.conftest import API_TOKEN, COMPANY_NUMBER, CUSTOMER
from texts import consent, conversations, inbound, outbound, survey

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# CUSTOMER is a San Francisco number: 19:00 UTC is noon there, 07:00 UTC midnight.
NOON = datetime(2025, 6, 4, 19, 0, tzinfo=UTC)
MIDNIGHT = datetime(2025, 6, 5, 7, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Every texts module reads this clock (noon for the customer unless moved)."""
    clock = Clock(NOON)
    for module in (outbound, survey, inbound, conversations):
        monkeypatch.setattr(module, "utcnow", lambda: clock.now)
    yield clock


@pytest.fixture
def phone(app: Flask, live_url: str, fake_twilio: FakeTwilio) -> TextingPhone:
    """The customer's phone; its texts reach /twilio/sms signed, through the fake Twilio."""
    return TextingPhone(
        CUSTOMER, COMPANY_NUMBER, box=fake_twilio.messages, sms_url=f"{live_url}/twilio/sms"
    )


def permit(number: str = CUSTOMER, source: str = "test") -> None:
    consent.grant(contacts.get_or_create(number), source)
    db.session.commit()


def request_text_survey(client: Any, to: str = CUSTOMER) -> Any:
    return client.post("/api/surveys/texts", json={"to": to, "survey": "post-call"}, headers=AUTH)


def request_call_survey(client: Any, to: str = CUSTOMER) -> Any:
    return client.post("/api/surveys/calls", json={"to": to, "survey": "post-call"}, headers=AUTH)


def texts_to(phone: TextingPhone) -> list[str]:
    return [m.body for m in phone.inbox()]
