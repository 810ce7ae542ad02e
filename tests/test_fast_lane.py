"""The survey webhook's common turns served before Flask (``ivr.fast_lane``): only when
signed for exactly this URL and form; everything else reaches Flask as before."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request, request_started
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from core.db import db
from core.models import Answer, CallSession
from ivr import hot_path
from tests.conftest import COMPANY_NUMBER, CUSTOMER, sign, twilio_post

SURVEY = "/twilio/voice/survey"
FIRST = {"CallSid": "CA" + "1" * 32, "From": CUSTOMER, "To": COMPANY_NUMBER}
SECOND = {**FIRST, "CallSid": "CA" + "2" * 32}
ANSWER = "/twilio/voice/survey?step=q&try=1&n=0"


@pytest.fixture
def through_flask(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests Flask itself handled."""
    seen: list[str] = []

    def started(sender: Flask, **extra: Any) -> None:
        seen.append(request.path)

    request_started.connect(started, app)
    yield seen
    request_started.disconnect(started, app)


def sessions(sid: str) -> int:
    db.session.expire_all()
    query = db.select(db.func.count()).select_from(CallSession)
    return int(db.session.scalar(query.where(CallSession.call_sid == sid)) or 0)


def known_caller(app: Flask, client: Any) -> None:
    """The first call makes the contact (the full flow); the next start is the lane's."""
    twilio_post(client, app, SURVEY, FIRST)


def test_known_callers_start_is_served_before_flask(
    app: Flask, client: Any, through_flask: list[str]
) -> None:
    """The start is answered by the lane, with the headers Flask would send."""
    known_caller(app, client)
    through_flask.clear()
    response = twilio_post(client, app, SURVEY, SECOND)
    assert through_flask == []
    assert response.status_code == 200 and b"<Gather" in response.data
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.headers["Content-Length"] == str(len(response.data))
    assert sessions(SECOND["CallSid"]) == 1


def test_plain_answer_is_served_before_flask_and_once(
    app: Flask, client: Any, through_flask: list[str]
) -> None:
    """A score is stored by the lane; the same webhook again changes nothing."""
    known_caller(app, client)
    twilio_post(client, app, SURVEY, SECOND)
    through_flask.clear()
    first = twilio_post(client, app, ANSWER, {**SECOND, "Digits": "9"})
    again = twilio_post(client, app, ANSWER, {**SECOND, "Digits": "9"})
    assert through_flask == []
    assert first.data == again.data and b"n=1" in first.data
    assert db.session.scalars(db.select(Answer.value)).all() == [9]


def test_forged_answer_reaches_flask_and_is_refused(
    app: Flask, client: Any, through_flask: list[str]
) -> None:
    """A wrong signature is not the lane's: Flask answers 403 and nothing is stored."""
    known_caller(app, client)
    twilio_post(client, app, SURVEY, SECOND)
    through_flask.clear()
    forged = twilio_post(client, app, ANSWER, {**SECOND, "Digits": "9"}, token="x" * 32)
    assert forged.status_code == 403
    assert through_flask == [SURVEY]
    assert db.session.scalars(db.select(Answer.value)).all() == []


def test_signature_over_the_url_with_its_port_reaches_flask_with_the_form(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch, through_flask: list[str]
) -> None:
    """A signature only the validator's port variants accept is Flask's, body intact."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://surveys.example.com")
    known_caller_reply = client.post(
        SURVEY, data=FIRST, headers=sign("https://surveys.example.com" + SURVEY, FIRST)
    )
    assert b"<Gather" in known_caller_reply.data
    through_flask.clear()
    headers = sign("https://surveys.example.com:443" + SURVEY, SECOND)
    response = client.post(SURVEY, data=SECOND, headers=headers)
    assert through_flask == [SURVEY]
    assert response.status_code == 200 and b"<Gather" in response.data
    assert sessions(SECOND["CallSid"]) == 1


def test_without_a_public_base_url_the_request_host_is_signed(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch, through_flask: list[str]
) -> None:
    """With no PUBLIC_BASE_URL the lane checks the URL the request was made to, as Flask."""
    known_caller(app, client)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "")
    through_flask.clear()
    response = client.post(SURVEY, data=SECOND, headers=sign("http://localhost" + SURVEY, SECOND))
    assert through_flask == []
    assert b"<Gather" in response.data and sessions(SECOND["CallSid"]) == 1


def test_unchecked_signatures_are_left_to_flask(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch, through_flask: list[str]
) -> None:
    """With checking switched off the lane serves nothing: Flask logs each request."""
    known_caller(app, client)
    monkeypatch.setitem(app.config, "VALIDATE_TWILIO_SIGNATURE", False)
    through_flask.clear()
    response = client.post(SURVEY, data=SECOND)
    assert through_flask == [SURVEY] and b"<Gather" in response.data


def test_malformed_field_gets_the_views_apology(
    app: Flask, client: Any, through_flask: list[str]
) -> None:
    """A field Twilio never sends is refused by the view, as before the lane."""
    bad = {**SECOND, "CallSid": "not-a-sid"}
    response = twilio_post(client, app, SURVEY, bad)
    assert through_flask == [SURVEY]
    assert b"something went wrong on our side" in response.data


def test_failure_in_the_lane_apologises_and_is_logged(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing hot path still gives the caller TwiML, never Twilio's application error."""

    def broken(inp: Any) -> str | None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(hot_path, "start_new_call", broken)
    with caplog.at_level(logging.ERROR, logger="ivr.fast_lane"):
        response = twilio_post(client, app, SURVEY, SECOND)
    assert response.status_code == 200
    assert b"something went wrong on our side" in response.data and b"<Hangup />" in response.data
    assert "survey step start failed" in caplog.text


def test_a_body_over_flasks_limit_is_flasks_to_refuse(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With MAX_CONTENT_LENGTH set, a bigger body gets Flask's 413, as before the lane."""
    known_caller(app, client)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64)
    response = twilio_post(client, app, SURVEY, SECOND)
    assert response.status_code == 413
    assert sessions(SECOND["CallSid"]) == 0


def test_behind_a_proxy_the_lane_checks_the_url_the_proxy_was_asked_for(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch, through_flask: list[str]
) -> None:
    """ProxyFix (``PROXY_HOPS``) sits outside the lane: the forwarded scheme and host count."""
    known_caller(app, client)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "")
    proxied = Client(ProxyFix(app.wsgi_app, x_proto=1, x_host=1))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "surveys.example.com"}
    through_flask.clear()
    signed = sign("https://surveys.example.com" + SURVEY, SECOND)
    response = proxied.post(SURVEY, data=SECOND, headers={**forwarded, **signed})
    assert through_flask == []
    assert b"<Gather" in response.data and sessions(SECOND["CallSid"]) == 1
    as_seen = sign("http://localhost" + SURVEY, {**SECOND, "CallSid": "CA" + "5" * 32})
    refused = proxied.post(SURVEY, data={**SECOND, "CallSid": "CA" + "5" * 32},
                           headers={**forwarded, **as_seen})  # fmt: skip
    assert refused.status_code == 403


@pytest.mark.parametrize("path", [ANSWER, "/twilio/voice/status"])
def test_signature_with_non_ascii_bytes_is_refused_not_a_500(
    app: Flask, client: Any, path: str
) -> None:
    """A header byte outside ASCII (WSGI reads headers as latin-1) is a forged signature:
    403 from the lane's path and Flask's alike, and nothing stored."""
    known_caller(app, client)
    twilio_post(client, app, SURVEY, SECOND)
    form = {**SECOND, "Digits": "9", "CallStatus": "completed"}
    response = client.post(path, data=form, headers={"X-Twilio-Signature": "\xe9" * 28})
    assert response.status_code == 403
    assert db.session.scalars(db.select(Answer.value)).all() == []
