"""Fixtures: a TwiML app and the fake Twilio, both served for real on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.audio import tone_wav
from simulator.caller import CallerSimulator
from simulator.fake_twilio import FakeTwilio, create_fake_twilio_app
from simulator.testing import serve_app
from tests.simulator.twiml_app import TwimlApp, create_twiml_app

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-token-0123456789abcdef"
CALLER = "+15005550006"
SURVEY_NUMBER = "+15005550001"


@pytest.fixture
def twiml_app() -> TwimlApp:
    return TwimlApp()


@pytest.fixture
def app_url(twiml_app: TwimlApp) -> Iterator[str]:
    with serve_app(create_twiml_app(twiml_app)) as base_url:
        yield base_url


@pytest.fixture
def fake() -> FakeTwilio:
    return FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)


@pytest.fixture
def fake_url(fake: FakeTwilio) -> Iterator[str]:
    with serve_app(create_fake_twilio_app(fake)) as base_url:
        fake.base_url = base_url
        yield base_url
        fake.wait_for_calls()


@pytest.fixture
def simulator(fake: FakeTwilio) -> CallerSimulator:
    return CallerSimulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, recordings=fake)


@pytest.fixture
def wav() -> bytes:
    return tone_wav(2.0)
