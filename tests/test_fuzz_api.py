"""Schemathesis fuzzes /api/* from its own OpenAPI description, in-process (WSGI).

Valid and invalid bodies, paths and queries for every operation: no answer is a 5xx, every
answer's status, content type and body match the description, and malformed input is
refused. Bounded examples so the module takes well under a minute on either database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ivr import openapi
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import AUTH, make_agent, make_task

EXAMPLES = 15  # per operation and generation mode: ~400 requests in all
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print(f"\nAPI fuzz: {TALLY['requests']} requests, {TALLY['5xx']} answered 5xx")


class CurrentApp:
    """A WSGI entry for the schema, built at import, that serves the running test's app."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "the api_data fixture sets the app"
        return self.app(environ, start_response)


CURRENT = CurrentApp()
# The same document GET /api/openapi.json serves (test_edges checks it covers every route);
# loaded from the dict because schemathesis' fixture-based loader predates pytest 9.
schema = schemathesis.openapi.from_dict(openapi.document())
schema.app = CURRENT
schema.config.generation.update(max_examples=EXAMPLES, database="none")


@pytest.fixture
def api_data(app: Flask, fake_twilio: FakeTwilio) -> Iterator[Flask]:
    """The app over a database with agents and tasks for ids 1..3 to act on."""
    for n in range(3):
        make_agent()
        make_task(phone=f"+1415555017{n}")
    CURRENT.app = app
    yield app
    CURRENT.app = None
    fake_twilio.wait_for_calls()  # a fuzzed number that was valid rang the fake Twilio


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_every_request_as_described_and_never_5xx(case: Any, api_data: Flask) -> None:
    """No 5xx; status, content type and body match the description; bad input is a 4xx."""
    response = case.call(headers=AUTH)
    TALLY["requests"] += 1
    TALLY["5xx"] += response.status_code >= 500
    # Valid-looking data may still be refused for business reasons (a number that is not
    # dialable, a time past the horizon), so "valid data is accepted" is not a check here.
    case.validate_response(response, headers=AUTH, excluded_checks=[positive_data_acceptance])
