"""The fake Twilio's Messages API, driven through the real twilio library."""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from core.twilio_rest import make_client
from simulator.fake_twilio import FakeTwilio
from simulator.messages import UNDELIVERED
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN, SURVEY_NUMBER
from tests.simulator.twiml_app import Received, TwimlApp

SUPERVISOR = "+15005550040"
OTHER = "+15005550041"


@pytest.fixture
def client(fake_url):
    return make_client(ACCOUNT_SID, AUTH_TOKEN, fake_url)


def signed_by_twilio(received: Received) -> bool:
    params = {key: values[0] for key, values in received.form.items()}
    return RequestValidator(AUTH_TOKEN).validate(received.url, params, received.signature)


def test_create_answers_a_queued_message(client, fake: FakeTwilio):
    """messages.create returns an SM sid, queued, with what was sent."""
    message = client.messages.create(to=SUPERVISOR, from_=SURVEY_NUMBER, body="Task 7 is late")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_, message.body) == (
        "queued",
        SUPERVISOR,
        SURVEY_NUMBER,
        "Task 7 is late",
    )
    assert (message.direction, message.num_segments, message.date_sent) == (
        "outbound-api",
        "1",
        None,
    )


def test_message_is_delivered_and_fetched(client, fake: FakeTwilio):
    """After delivery, fetch shows it delivered with a send date."""
    sid = client.messages.create(to=SUPERVISOR, from_=SURVEY_NUMBER, body="hello").sid
    fake.messages.wait()
    fetched = client.messages(sid).fetch()
    assert (fetched.status, fetched.error_code) == ("delivered", None)
    assert fetched.date_sent is not None


def test_status_callbacks_arrive_signed_in_order(client, fake, twiml_app: TwimlApp, app_url):
    """StatusCallback hears queued, sent, delivered, each signed with the auth token."""
    message = client.messages.create(
        to=SUPERVISOR, from_=SURVEY_NUMBER, body="hello", status_callback=f"{app_url}/sms"
    )
    fake.messages.wait()
    received = twiml_app.to("/sms")
    assert [r.value("MessageStatus") for r in received] == ["queued", "sent", "delivered"]
    assert {r.value("MessageSid") for r in received} == {message.sid}
    assert {(r.value("To"), r.value("From")) for r in received} == {(SUPERVISOR, SURVEY_NUMBER)}
    assert all(signed_by_twilio(r) for r in received)


def test_unreachable_number_ends_undelivered(client, fake, twiml_app: TwimlApp, app_url):
    """A number the carrier cannot reach ends undelivered with error 30003, in both views."""
    fake.messages.fail_delivery(SUPERVISOR)
    sid = client.messages.create(
        to=SUPERVISOR, from_=SURVEY_NUMBER, body="hello", status_callback=f"{app_url}/sms"
    ).sid
    fake.messages.wait()
    last = twiml_app.to("/sms")[-1]
    assert (last.value("MessageStatus"), last.value("ErrorCode")) == (
        "undelivered",
        str(UNDELIVERED),
    )
    assert (client.messages(sid).fetch().status, client.messages(sid).fetch().error_code) == (
        "undelivered",
        UNDELIVERED,
    )


def test_list_filters_by_to_newest_first(client, fake):
    """messages.list(to=...) returns only that number's texts, newest first."""
    first = client.messages.create(to=SUPERVISOR, from_=SURVEY_NUMBER, body="one").sid
    client.messages.create(to=OTHER, from_=SURVEY_NUMBER, body="other")
    second = client.messages.create(to=SUPERVISOR, from_=SURVEY_NUMBER, body="two").sid
    assert [m.sid for m in client.messages.list(to=SUPERVISOR)] == [second, first]
    assert len(client.messages.list()) == 3


@pytest.mark.parametrize(
    ("to", "body", "code"),
    [("555-1234", "hi", 21211), (SUPERVISOR, "", 21602), (SUPERVISOR, "x" * 1601, 21617)],
)
def test_bad_messages_are_refused_like_twilio(client, fake, to, body, code):
    """A bad number, an empty body or an overlong one gets Twilio's 400 and error code."""
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=to, from_=SURVEY_NUMBER, body=body)
    assert (error.value.status, error.value.code) == (400, code)
    assert fake.messages.all() == []


def test_unknown_message_is_404(client):
    """Fetching a message that was never sent is Twilio's 404."""
    with pytest.raises(TwilioRestException) as error:
        client.messages("SM" + "9" * 32).fetch()
    assert error.value.status == 404


def test_wrong_credentials_are_refused(fake_url, fake):
    """Without the account's token a text is refused with 20003 and not sent."""
    with pytest.raises(TwilioRestException) as error:
        make_client(ACCOUNT_SID, "wrong", fake_url).messages.create(
            to=SUPERVISOR, from_=SURVEY_NUMBER, body="hi"
        )
    assert (error.value.status, error.value.code) == (401, 20003)
    assert fake.messages.all() == []


def test_control_endpoint_shows_texts_and_callbacks(client, fake, fake_url, app_url):
    """/_fake/messages lists each text with the callbacks it sent and their answers."""
    client.messages.create(
        to=SUPERVISOR, from_=SURVEY_NUMBER, body="hello", status_callback=f"{app_url}/sms"
    )
    fake.messages.wait()
    [text] = requests.get(f"{fake_url}/_fake/messages", timeout=5).json()["messages"]
    assert text["body"] == "hello" and text["status"] == "delivered"
    assert [(c["params"]["MessageStatus"], c["status"]) for c in text["callbacks"]] == [
        ("queued", 200),
        ("sent", 200),
        ("delivered", 200),
    ]


def test_callbacks_follow_the_app_base_url(app_url, twiml_app: TwimlApp):
    """With app_base_url, callbacks reach the app there, signed over the public URL given."""
    public = "https://surveys.example.com/sms"
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, app_base_url=app_url)
    fake.messages.send(to=SUPERVISOR, from_=SURVEY_NUMBER, body="hi", status_callback=public)
    fake.messages.wait()
    received = twiml_app.to("/sms")
    params = {key: values[0] for key, values in received[0].form.items()}
    assert len(received) == 3
    assert RequestValidator(AUTH_TOKEN).validate(public, params, received[0].signature)
