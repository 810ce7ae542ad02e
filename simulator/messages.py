"""The fake Twilio's Messages API: texts sent through it, their delivery, status callbacks.

``client.messages.create(to=..., from_=..., body=..., status_callback=...)`` posts to
``/2010-04-01/Accounts/{AccountSid}/Messages.json``. The fake answers 201 with a ``queued``
message (``SM…``); a background thread then moves it to ``sent`` and ``delivered`` (or
``undelivered``, for a number told to fail), posting each status, signed like every Twilio
webhook, to the message's ``StatusCallback``. ``GET`` lists (by ``To`` and ``From``) and
fetches them.

The messages live in a :class:`MessageBox` (``FakeTwilio.messages``); the HTTP layer is
``api``, mounted by :func:`simulator.fake_twilio.create_fake_twilio_app` behind the fake's
basic auth. Direction is kept on every message: a phone's text to the company number
(:meth:`MessageBox.receive`, or ``POST /_fake/sms``) is posted, signed, to the app's
incoming-text URL (``sms_url``) and the app's TwiML replies join the box as
``outbound-reply`` messages (see :mod:`simulator.inbound_texts` for Twilio's keywords).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from simulator.inbound_texts import (
    BLOCKED,
    STOP_CONFIRMATION,
    incoming_params,
    keyword,
    post_incoming,
    twiml_messages,
)
from simulator.rest import ACCOUNT, E164, created, not_found, page, twilio_error
from simulator.sids import API_VERSION, new_sid, rfc2822
from simulator.webhooks import RecordedRequest, WebhookSender, delivery_url, signed_base

__all__ = ["EXTENSION", "FakeMessage", "MessageBox", "api", "control"]

log = logging.getLogger(__name__)

EXTENSION = "fake_twilio_messages"  # where the app keeps its MessageBox
MAX_BODY = 1600  # characters; Twilio refuses longer bodies (error 21617)
UNDELIVERED = 30003  # "Unreachable destination handset"


@dataclass
class FakeMessage:
    """One text as the fake's REST API reports it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str = "outbound-api"
    status: str = "queued"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    error_code: int | None = None
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_sent: datetime | None = None
    callbacks: list[RecordedRequest] = field(default_factory=list)

    @property
    def num_segments(self) -> int:
        """SMS parts: 160 characters fit one; longer bodies go in 153-character parts."""
        return 1 if len(self.body) <= 160 else math.ceil(len(self.body) / 153)

    def to_json(self) -> dict[str, Any]:
        """Shape the message like Twilio's Message resource."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "date_sent": rfc2822(self.date_sent) if self.date_sent else None,
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "to": self.to,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "status": self.status,
            "uri": uri + ".json",
            "subresource_uris": {
                "media": uri + "/Media.json",
                "feedback": uri + "/Feedback.json",
            },
        }

    def report(self) -> dict[str, Any]:
        """The resource plus each status callback sent and the app's answer (for ``/_fake``)."""
        sent = [{"url": c.url, "params": c.params, "status": c.status_code} for c in self.callbacks]
        return self.to_json() | {"callbacks": sent}


class MessageBox:
    """Every text the fake has handled, delivered in background threads.

    Args:
        account_sid: the account the texts belong to.
        auth_token: signs the status callbacks (``X-Twilio-Signature``).
        app_base_url: when set, callbacks go to this scheme and host instead of the one in
            ``StatusCallback`` (still signed over the URL as given), as for calls.
    """

    def __init__(
        self, *, account_sid: str, auth_token: str, app_base_url: str | None = None
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.app_base_url = app_base_url
        self._messages: dict[str, FakeMessage] = {}
        self._unreachable: dict[str, int] = {}
        # The app's "A message comes in" webhook for the company number, and the phones
        # that texted STOP to it (Twilio refuses to text them until START).
        self.sms_url: str | None = None
        self._stopped: set[tuple[str, str]] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()

    def fail_delivery(self, number: str, error_code: int = UNDELIVERED) -> None:
        """Texts to ``number`` end ``undelivered`` with this error code, as a carrier reports."""
        with self._lock:
            self._unreachable[number] = error_code

    def send(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        status_callback: str | None = None,
        status_callback_method: str = "POST",
    ) -> FakeMessage:
        """Queue an outbound text and deliver it in the background; return it as queued."""
        message = FakeMessage(
            sid=new_sid("SM"),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            body=body,
            status_callback=status_callback,
            status_callback_method=status_callback_method,
        )
        queued = replace(message, callbacks=[])  # as created, before the thread moves it
        thread = threading.Thread(
            target=self._deliver, args=(message,), name=f"sms-{message.sid}", daemon=True
        )
        with self._lock:
            self._messages[message.sid] = message
            self._threads.append(thread)
        thread.start()
        return queued

    def is_stopped(self, to: str, from_: str) -> bool:
        """True when ``to`` texted STOP to ``from_`` and not START since."""
        with self._lock:
            return (to, from_) in self._stopped

    def receive(self, *, from_: str, to: str, body: str, url: str | None = None) -> list[str]:
        """A phone at ``from_`` texts ``body`` to ``to``: post it to the app, signed, as
        Twilio does, and return the texts the phone gets back (Twilio's STOP confirmation,
        or the app's TwiML ``<Message>`` replies)."""
        target = url or self.sms_url
        if not target:
            raise ValueError("no incoming-text URL: set MessageBox.sms_url or pass url")
        inbound = FakeMessage(
            sid=new_sid("SM"),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            body=body,
            direction="inbound",
            status="received",
        )
        kind = keyword(body)
        with self._lock:
            self._messages[inbound.sid] = inbound
            if kind == "opt_out":
                self._stopped.add((from_, to))
            elif kind == "opt_in":
                self._stopped.discard((from_, to))
        params = incoming_params(
            sid=inbound.sid, account_sid=self.account_sid, from_=from_, to=to, body=body
        )
        answer = post_incoming(
            target, params, auth_token=self.auth_token, app_base_url=self.app_base_url
        )
        inbound.callbacks.append(answer)
        replies = [STOP_CONFIRMATION] if kind == "opt_out" else twiml_messages(answer)
        for text in replies:
            self._reply(to=from_, from_=to, body=text)
        return replies

    def _reply(self, *, to: str, from_: str, body: str) -> FakeMessage:
        now = datetime.now(UTC)
        message = FakeMessage(
            sid=new_sid("SM"),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            body=body,
            direction="outbound-reply",
            status="delivered",
            date_sent=now,
        )
        with self._lock:
            self._messages[message.sid] = message
        return message

    def get(self, sid: str) -> FakeMessage | None:
        """One message, or ``None``."""
        with self._lock:
            return self._messages.get(sid)

    def all(self) -> list[FakeMessage]:
        """A snapshot of every message, in creation order."""
        with self._lock:
            return list(self._messages.values())

    def wait(self, timeout: float = 10) -> None:
        """Wait until every text has reached its final status and its callbacks were sent.

        Raises:
            TimeoutError: if a delivery is still running after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                alive = list(self._threads)
            if not alive:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(alive)} text(s) still being delivered")
            alive[0].join(remaining)

    def reset(self) -> None:
        """Forget every message and planned failure (between tests)."""
        self.wait()
        with self._lock:
            self._messages.clear()
            self._unreachable.clear()
            self._stopped.clear()

    def _deliver(self, message: FakeMessage) -> None:
        with self._lock:
            error_code = self._unreachable.get(message.to)
        final = "delivered" if error_code is None else "undelivered"
        with requests.Session() as http:
            for status in ("queued", "sent", final):
                self._move(message, status, error_code if status == "undelivered" else None)
                self._callback(http, message)
        log.info("text %s to %s: %s", message.sid, message.to, final)

    def _move(self, message: FakeMessage, status: str, error_code: int | None) -> None:
        now = datetime.now(UTC)
        with self._lock:
            message.status = status
            message.date_updated = now
            message.error_code = error_code
            if status == "sent":
                message.date_sent = now

    def _callback(self, http: requests.Session, message: FakeMessage) -> None:
        if not message.status_callback:
            return
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "To": message.to,
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
        }
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        url = message.status_callback
        sender = WebhookSender(self.auth_token, http, signed_base(url, self.app_base_url))
        sent = sender.send(
            "message-status",
            delivery_url(url, self.app_base_url),
            params,
            message.status_callback_method,
        )
        with self._lock:
            message.callbacks.append(sent)


# --- HTTP ----------------------------------------------------------------------------------

api = Blueprint("fake_twilio_messages", __name__)


def _box() -> MessageBox:
    box: MessageBox = current_app.extensions[EXTENSION]
    return box


@api.post(f"{ACCOUNT}/Messages.json")
def create_message(account_sid: str) -> Response:
    """``Messages.create``: validate like Twilio, answer 201 queued, deliver in the background."""
    form = request.form
    to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not from_:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not E164.match(to):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not E164.match(from_):
        return twilio_error(400, 21212, f"Invalid From Number (caller ID): {from_}")
    if not body.strip():
        return twilio_error(400, 21602, "Message body is required.")
    if _box().is_stopped(to, from_):
        return twilio_error(400, BLOCKED, "Attempt to send to unsubscribed recipient")
    if len(body) > MAX_BODY:
        return twilio_error(
            400, 21617, "The concatenated message body exceeds the 1600 character limit."
        )
    message = _box().send(
        to=to,
        from_=from_,
        body=body,
        status_callback=form.get("StatusCallback") or None,
        status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
    )
    return created(message.to_json())


@api.get(f"{ACCOUNT}/Messages.json")
def list_messages(account_sid: str) -> Response:
    """List texts, newest first, filtered like Twilio by To and From."""
    to, from_ = request.args.get("To"), request.args.get("From")
    messages = [
        m.to_json()
        for m in reversed(_box().all())
        if (to is None or m.to == to) and (from_ is None or m.from_ == from_)
    ]
    return page("messages", messages, f"/{API_VERSION}/Accounts/{account_sid}/Messages.json")


@api.get(f"{ACCOUNT}/Messages/<sid>.json")
def fetch_message(account_sid: str, sid: str) -> Response:
    """Fetch one text."""
    message = _box().get(sid)
    return jsonify(message.to_json()) if message else not_found()


# --- a phone's side, for another process (``make text``) ---------------------------------

control = Blueprint("fake_twilio_texts", __name__, url_prefix="/_fake")


@control.post("/sms")
def phone_texts() -> Response:
    """A phone texts the company number: ``{from, body, to?, url?}`` -> ``{replies}``."""
    given: dict[str, Any] = request.get_json(force=True, silent=True) or {}
    from_, body = str(given.get("from", "")), str(given.get("body", ""))
    to = str(given.get("to") or "")
    if not E164.match(from_) or not E164.match(to) or not body.strip():
        return twilio_error(400, 21000, "from and to must be E.164 and body non-empty")
    try:
        replies = _box().receive(from_=from_, to=to, body=body, url=given.get("url") or None)
    except ValueError as exc:
        return twilio_error(400, 21000, str(exc))
    return jsonify(replies=replies)
