"""One gate for "may we call this number now" (core.reachability): the dialling policy,
suppression, the survey cap and callee-local hours, for surveys, callbacks and texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from callbacks import actions, dialing
from callbacks.models import AttemptStatus, CallbackAttempt
from core import reachability, suppression
from core.db import db
from core.models import CallSession
from core.reachability import Channel
from ivr import outbound
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import AUTH, make_agent, make_task
from tests.conftest import CUSTOMER

NEW_YORK, LOS_ANGELES = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")
MANHATTAN = "+12125550142"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("+19005551234", "premium_rate"),
        ("+19765551234", "premium_rate"),  # the old 976 block
        ("+18005551234", "special_number"),  # toll-free
        ("+18885551234", "special_number"),
        ("+15005550006", "special_number"),  # personal (follow-me) number
        ("+1911", "special_number"),  # short
        ("+442071234567", "country_not_allowed"),
        ("+14155550123", None),
        ("+16135550123", None),  # Ottawa: Canada is allowed by default
    ],
)
def test_dialling_policy(app: Flask, number: str, code: str | None) -> None:
    """Only ordinary lines of the allowed countries are dialled."""
    refusal = reachability.dialling_refusal(number)
    assert (refusal.code if refusal else None) == code


def test_allowed_countries_come_from_the_setting(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DIAL_ALLOWED_COUNTRIES=US,GB lets London in and keeps Canada out."""
    monkeypatch.setitem(app.config, "DIAL_ALLOWED_COUNTRIES", "US, gb")
    assert reachability.dialling_refusal("+442071234567") is None
    refusal = reachability.dialling_refusal("+16135550123")
    assert refusal is not None and "we dial only GB, US" in refusal.message


@pytest.mark.parametrize(
    ("to", "code"), [("+19005551234", "premium_rate"), ("+442071234567", "country_not_allowed")]
)
def test_survey_api_refuses_numbers_we_never_dial(
    app: Flask, client: Any, fake_twilio: FakeTwilio, to: str, code: str
) -> None:
    """A premium-rate or foreign number is a 422 with the reason, at any hour; nothing rings."""
    response = client.post("/api/surveys/calls", json={"to": to}, headers=AUTH)
    assert response.status_code == 422
    assert response.get_json()["error"] == code
    assert fake_twilio.call_list() == [] and db.session.scalar(db.select(CallSession)) is None


def test_a_suppressed_number_is_refused_not_scheduled(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 23:00 a do-not-call number gets 409, not a 202 for the morning."""
    night = datetime(2025, 6, 2, 23, 0, tzinfo=LOS_ANGELES).astimezone(UTC)
    monkeypatch.setattr(outbound, "utcnow", lambda: night)
    suppression.add(CUSTOMER, "do_not_call", "test")
    db.session.commit()
    response = client.post("/api/surveys/calls", json={"to": CUSTOMER}, headers=AUTH)
    assert response.status_code == 409 and response.get_json()["error"] == "do_not_call"


def test_calling_hours_are_the_callees_across_the_autumn_change(app: Flask) -> None:
    """22:00 in New York the night clocks go back: wait for 08:00 EST (13:00 UTC)."""
    late = datetime(2025, 11, 1, 22, 0, tzinfo=NEW_YORK)
    refusal = reachability.hours_refusal(MANHATTAN, late.astimezone(UTC))
    assert refusal is not None and refusal.code == "outside_calling_hours"
    assert refusal.retry_at == datetime(2025, 11, 2, 13, 0, tzinfo=UTC)
    assert "22:00 for the callee (America/New_York)" in refusal.message
    # The same instant is 19:00 in San Francisco: inside the window there.
    assert reachability.hours_refusal(CUSTOMER, late.astimezone(UTC)) is None


def test_texts_share_the_gate_but_not_the_survey_cap(app: Flask) -> None:
    """SMS: do-not-call and hours apply; a survey placed yesterday does not stop a text."""
    noon = datetime(2025, 6, 2, 12, 0, tzinfo=LOS_ANGELES).astimezone(UTC)
    make_task(phone=CUSTOMER)  # a survey call from this number (stamped now)
    assert reachability.check(CUSTOMER, channel=Channel.SMS, now=noon) is None
    surveyed = reachability.check(CUSTOMER, channel=Channel.SURVEY, now=datetime.now(UTC))
    assert surveyed is not None and surveyed.code == "recently_surveyed"
    suppression.add(CUSTOMER, "do_not_call", "test")
    db.session.commit()
    texted = reachability.check(CUSTOMER, channel=Channel.SMS, now=noon)
    assert texted is not None and texted.code == "do_not_call"


# --- callbacks: before the call is offered to Twilio, and at the moment of dialling -------


EVENING = datetime(2025, 6, 2, 20, 0, tzinfo=LOS_ANGELES).astimezone(UTC)


def claimed_task(**session: Any) -> tuple[Any, Any]:
    agent = make_agent()
    task = make_task(now=EVENING, **session)
    actions.claim(task.id, agent)
    return task, agent


def test_callback_to_a_premium_number_is_refused_at_the_click(app: Flask) -> None:
    """A caller who keyed in a 1-900 number for the callback is never rung there."""
    task, agent = claimed_task(callback_number="+19005550100", wants_callback=True)
    with pytest.raises(dialing.DialRefused) as refused:
        dialing.start_call(task.id, agent, now=EVENING)
    assert refused.value.code == "premium_rate"


def test_do_not_call_on_the_hashed_list_stops_the_dial(app: Flask, fake_twilio: FakeTwilio) -> None:
    """Suppressed between the click and the worker's dial: the attempt is not placed."""
    task, agent = claimed_task()
    attempt = dialing.start_call(task.id, agent, now=EVENING)
    suppression.add(CUSTOMER, "do_not_call", "api")
    db.session.commit()
    assert dialing.place_call_now(attempt.id, now=EVENING) == "not_placed"
    assert fake_twilio.call_list() == []


def test_callback_hours_are_checked_again_at_the_moment_of_dialling(
    app: Flask, fake_twilio: FakeTwilio
) -> None:
    """Clicked at 20:59:30, dialled by the worker at 21:00:10: nobody is rung at 21:00."""
    task, agent = claimed_task()
    attempt = dialing.start_call(task.id, agent, now=EVENING + timedelta(minutes=59, seconds=30))
    placed = dialing.place_call_now(attempt.id, now=EVENING + timedelta(hours=1, seconds=10))
    assert placed == "not_placed"
    db.session.expire_all()
    stored = db.session.get(CallbackAttempt, attempt.id)
    assert stored is not None and stored.status is AttemptStatus.NOT_PLACED
    assert "calls are allowed 08:00-21:00" in (stored.error or "")
    assert fake_twilio.call_list() == []
