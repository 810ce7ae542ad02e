"""A missed SLA reaches supervisors by text (the fake Twilio's Messages API) and by e-mail
(a real SMTP server listening on loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from callbacks.models import TaskState
from callbacks.sweep import sweep
from simulator.fake_state import FakeTwilio
from tests.callbacks.conftest import make_task, reload_task
from tests.conftest import COMPANY_NUMBER

SUPERVISOR_PHONE = "+14155550177"
SUPERVISORS = "supervisors@example.com"
SENDER = "callbacks@example.com"
ANXIOUS = "I'm worried sick about this and can't sleep."


@dataclass
class Mailbox:
    """What the SMTP server accepted: each message with its envelope recipients."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    # aiosmtpd calls handle_DATA for each message it accepts.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    server = Controller(box, hostname=box.host, port=box.port)
    server.start()
    try:
        yield box
    finally:
        server.stop()


@pytest.fixture
def supervisors(app: Flask, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    """Supervisors to be told by text and e-mail (and no webhook)."""
    for key, value in {
        "ESCALATION_WEBHOOK_URL": "",
        "ESCALATION_SMS_TO": SUPERVISOR_PHONE,
        "ESCALATION_EMAIL_TO": SUPERVISORS,
        "ESCALATION_EMAIL_FROM": SENDER,
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": mailbox.port,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return mailbox


def texts(fake: FakeTwilio) -> list[Any]:
    fake.messages.wait()
    return fake.messages.all()


def test_missed_sla_texts_and_emails_supervisors(
    supervisors: Mailbox, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """The scheduler's sweep past the deadline texts and e-mails supervisors about the task."""
    task = make_task(comment=ANXIOUS)
    assert sweep(task.due_at + timedelta(minutes=3))["escalated"] == 1
    [text] = texts(fake_twilio)
    assert (text.to, text.from_, text.status) == (SUPERVISOR_PHONE, COMPANY_NUMBER, "delivered")
    assert f"Callback {task.id} to {task.phone} missed its SLA by 3 min" in text.body
    assert "now critical" in text.body
    [mail] = supervisors.messages
    assert (mail["Subject"], mail["From"], mail["To"]) == (
        "Callback missed its SLA",
        SENDER,
        SUPERVISORS,
    )
    assert supervisors.recipients == [[SUPERVISORS]]
    assert mail.get_content().strip() == text.body


def test_each_deadline_is_told_once(
    supervisors: Mailbox, fake_twilio: FakeTwilio, any_time: None
) -> None:
    """Sweeping again (or the job firing too) sends no second text or e-mail."""
    task = make_task(comment=ANXIOUS)
    sweep(task.due_at + timedelta(minutes=1))
    sweep(task.due_at + timedelta(minutes=2))
    assert len(texts(fake_twilio)) == 1 and len(supervisors.messages) == 1


def test_refused_text_still_sends_the_email(
    app: Flask,
    supervisors: Mailbox,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    any_time: None,
) -> None:
    """A number Twilio refuses costs the text only: the e-mail goes and the task escalates."""
    monkeypatch.setitem(app.config, "ESCALATION_SMS_TO", "555-0177")
    task = make_task(comment=ANXIOUS)
    assert sweep(task.due_at + timedelta(minutes=1))["escalated"] == 1
    assert texts(fake_twilio) == []
    assert len(supervisors.messages) == 1
    assert reload_task(task.id).state is TaskState.ESCALATED


def test_unreachable_mail_server_still_sends_the_text(
    app: Flask,
    supervisors: Mailbox,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    any_time: None,
) -> None:
    """With no SMTP server listening the text still goes and the task escalates."""
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    task = make_task(comment=ANXIOUS)
    assert sweep(task.due_at + timedelta(minutes=1))["escalated"] == 1
    assert [t.to for t in texts(fake_twilio)] == [SUPERVISOR_PHONE]
    assert supervisors.messages == []
    assert reload_task(task.id).state is TaskState.ESCALATED
