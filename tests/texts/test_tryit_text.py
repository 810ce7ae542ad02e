"""The try-it page's text mode: the survey's texts in the page, replies read as a phone's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from core.db import db
from core.models import CallSession, Role
from tests.factories import demo_survey, forget_csrf, login, make_user


@pytest.fixture
def manager_client(client: Any, app: Flask) -> Any:
    login(client, make_user(Role.MANAGER))
    return client


class TextDriver:
    """Drives the text mode's JSON endpoints like the page's script does."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.survey = demo_survey()
        forget_csrf()
        page = client.get(f"/dashboard/surveys/{self.survey.id}/try").get_data(as_text=True)
        assert 'id="trytext"' in page
        token = re.search(r'data-csrf="([^"]+)"', page)
        assert token is not None
        self.headers = {"X-CSRFToken": token.group(1)}
        self.session_id = 0

    def start(self) -> dict[str, Any]:
        body = self.client.post(
            f"/dashboard/surveys/{self.survey.id}/try/text/start", headers=self.headers
        ).get_json()
        self.session_id = body["session_id"]
        return dict(body)

    def reply(self, text: str) -> Any:
        return self.client.post(
            f"/dashboard/try/text/{self.session_id}/reply",
            json={"text": text},
            headers=self.headers,
        )


def test_the_text_mode_shows_the_first_text(manager_client: Any) -> None:
    """ "Text me" shows the greeting and the 0-10 question as a text."""
    [first] = TextDriver(manager_client).start()["texts"]
    assert "how likely are you to recommend us" in first
    assert "Reply with a number from 0 to 10." in first


def test_replies_take_the_test_survey_to_the_end(manager_client: Any) -> None:
    """Replies move through the questions to the goodbye; the session is test data."""
    driver = TextDriver(manager_client)
    driver.start()
    for text in ("9", "4", "yes", "skip"):
        assert not driver.reply(text).get_json()["ended"]
    last = driver.reply("no").get_json()
    assert last["ended"] and last["texts"] == ["Thank you for your feedback. Goodbye."]
    db.session.expire_all()
    session = db.session.get(CallSession, driver.session_id)
    assert session is not None and session.is_test and session.channel == "sms"
    assert {a.question.key: a.value for a in session.answers} == {
        "nps": 9,
        "csat": 4,
        "resolved": 1,
    }


def test_a_low_score_in_try_it_opens_no_callback(manager_client: Any) -> None:
    """Test data never reaches an agent: NPS 0 opens no task."""
    driver = TextDriver(manager_client)
    driver.start()
    for text in ("0", "1", "no", "skip", "no"):
        driver.reply(text)
    tasks = manager_client.get("/api/callbacks", headers={"Authorization": "Bearer test-api-token"})
    assert tasks.get_json()["callbacks"] == []


def test_an_older_test_survey_no_longer_takes_replies(manager_client: Any) -> None:
    """A second "Text me" supersedes the first: replying to the first is a 404 that says so."""
    first = TextDriver(manager_client)
    first.start()
    TextDriver(manager_client).start()
    response = first.reply("9")
    assert response.status_code == 404
    assert "another one started" in response.get_json()["error"]
