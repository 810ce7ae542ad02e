"""/twilio/sms and /twilio/sms/status: signed like voice, fields checked, callbacks idempotent."""

from __future__ import annotations

from typing import Any

from flask import Flask

from core.db import db
from simulator.fake_state import FakeTwilio
from simulator.inbound_texts import incoming_params
from tests.conftest import COMPANY_NUMBER, CUSTOMER, sign, twilio_post
from tests.texts.conftest import Clock, permit
from texts.models import TextMessage
from texts.outbound import send_text

ACCOUNT = "AC" + "0" * 32
SID = "SM" + "a" * 32


def incoming(body: str, sid: str = SID) -> dict[str, str]:
    return incoming_params(
        sid=sid, account_sid=ACCOUNT, from_=CUSTOMER, to=COMPANY_NUMBER, body=body
    )


def status(sid: str, value: str) -> dict[str, str]:
    return {"MessageSid": sid, "MessageStatus": value, "AccountSid": ACCOUNT, "To": CUSTOMER}


def test_an_unsigned_text_is_refused(app: Flask, client: Any) -> None:
    """No X-Twilio-Signature: 403, and nothing is stored."""
    response = client.post("/twilio/sms", data=incoming("HELP"))
    assert response.status_code == 403
    assert db.session.scalar(db.select(TextMessage)) is None


def test_a_text_signed_with_another_token_is_refused(app: Flask, client: Any) -> None:
    """A signature from the wrong auth token: 403."""
    response = twilio_post(client, app, "/twilio/sms", incoming("HELP"), token="f" * 32)
    assert response.status_code == 403


def test_a_status_callback_must_be_signed(app: Flask, client: Any) -> None:
    """An unsigned status callback: 403."""
    assert client.post("/twilio/sms/status", data=status(SID, "delivered")).status_code == 403


def test_a_signed_text_gets_twiml_messages(app: Flask, client: Any) -> None:
    """HELP signed over the public URL: 200 TwiML with one <Message>."""
    response = twilio_post(client, app, "/twilio/sms", incoming("HELP"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Response><Message>Customer Care:" in response.get_data(as_text=True)


def test_a_malformed_message_sid_is_a_400_naming_it(app: Flask, client: Any) -> None:
    """MessageSid that is not SM/MM + 32 hex: 400 naming the field."""
    response = twilio_post(client, app, "/twilio/sms", incoming("hi", sid="SMnope"))
    assert response.status_code == 400
    assert "MessageSid" in response.get_data(as_text=True)


def test_a_text_twilio_sends_twice_is_answered_once(app: Flask, client: Any) -> None:
    """The same MessageSid again (a retry): stored once, and the repeat gets no reply."""
    first = twilio_post(client, app, "/twilio/sms", incoming("HELP"))
    again = twilio_post(client, app, "/twilio/sms", incoming("HELP"))
    assert "<Message>" in first.get_data(as_text=True)
    assert "<Message>" not in again.get_data(as_text=True)
    inbound = db.session.scalars(db.select(TextMessage).where(TextMessage.direction == "inbound"))
    assert len(list(inbound)) == 1


def test_status_callbacks_only_move_forward(
    app: Flask, client: Any, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """delivered, then a late sent and a repeated delivered: the text stays delivered."""
    permit()
    message = send_text(CUSTOMER, "Hello", purpose="test")
    assert message is not None
    fake_twilio.messages.wait()
    for late in ("sent", "delivered", "queued"):
        assert (
            twilio_post(
                client, app, "/twilio/sms/status", status(message.sid or "", late)
            ).status_code
            == 204
        )
    db.session.expire_all()
    stored = db.session.get(TextMessage, message.id)
    assert stored is not None and stored.status == "delivered"


def test_a_failed_delivery_is_kept_with_its_error_code(
    app: Flask, clock: Clock, fake_twilio: FakeTwilio
) -> None:
    """The carrier reports undelivered (30003): the row says so."""
    permit()
    fake_twilio.messages.fail_delivery(CUSTOMER)
    message = send_text(CUSTOMER, "Hello", purpose="test")
    assert message is not None
    fake_twilio.messages.wait()
    db.session.expire_all()
    stored = db.session.get(TextMessage, message.id)
    assert stored is not None
    assert (stored.status, stored.error_code) == ("undelivered", "30003")


def test_a_status_for_an_unknown_text_is_kept_until_it_is_claimed(app: Flask, client: Any) -> None:
    """A callback that beats Twilio's answer leaves a placeholder with the status."""
    params = status("SM" + "b" * 32, "sent")
    assert twilio_post(client, app, "/twilio/sms/status", params).status_code == 204
    placeholder = db.session.scalar(
        db.select(TextMessage).where(TextMessage.sid == params["MessageSid"])
    )
    assert placeholder is not None and placeholder.status == "sent"


def test_signature_covers_the_public_url(app: Flask, client: Any) -> None:
    """Signed over another host than PUBLIC_BASE_URL: 403."""
    params = incoming("HELP")
    headers = sign("https://elsewhere.example/twilio/sms", params)
    assert client.post("/twilio/sms", data=params, headers=headers).status_code == 403
