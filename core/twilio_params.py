"""Twilio webhook parameters, checked at the edge against Twilio's documented formats.

Every field a handler reads is checked here before it reaches a query, so a value the
database would refuse (too long for its column, out of INTEGER range, a NUL byte) becomes
a clear 400 or, on a voice route, the apology, and never a 500. Lengths follow the columns
in ``core.models`` and ``callbacks.models``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import unquote

from core.models import CallStatus
from core.phones import canonical

MAX_DB_INT = 2**31 - 1  # PostgreSQL INTEGER: every id and count column
MAX_CALL_SECONDS = 86_400  # Twilio ends any call after 24 hours
MAX_DIGITS = 32  # answers.digits
MAX_SPEECH = 2_000
MAX_URL = 2_000
# A field nobody reads is passed on only when short and printable. Twilio adds fields over
# time (CallToken is long), so an odd one is dropped, never a reason to refuse the call.
MAX_OTHER = 512
MAX_ARG = 1_000  # our own query parameters; the read-back "heard" carries up to 500 chars

SID = r"[0-9a-fA-F]{32}"
E164 = re.compile(r"\+?[0-9]{1,15}")
# Caller IDs that are not numbers: Twilio Client, SIP, and withheld numbers. 20 characters
# is the contacts.phone column the caller's number ends up in.
CALLER_WORD = re.compile(r"(client|sip):[^\s]{1,13}|[A-Za-z]{1,20}")
KEYPAD = re.compile(r"[0-9*#]*")
URL = re.compile(r"https?://[^\s]+")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
STEP = re.compile(r"[a-z_-]{1,32}")  # call_sessions.step

DIRECTIONS = (
    "inbound",
    "outbound-api",
    "outbound-dial",
    "trunking-terminating",
    "trunking-originating",
)
CALL_STATUSES = tuple(status.value for status in CallStatus)
DIAL_STATUSES = ("completed", "answered", "busy", "no-answer", "failed", "canceled")
RECORDING_STATUSES = ("in-progress", "completed", "absent", "failed")
MESSAGE_STATUSES = (
    "accepted", "scheduled", "canceled", "queued", "sending", "sent", "failed", "delivered",
    "undelivered", "receiving", "received", "read", "partially_delivered",
)  # fmt: skip
MAX_SMS_BODY = 1_600  # Twilio's limit for one message, all segments


class BadParameter(ValueError):
    """A webhook field that is not what Twilio documents; the message names it."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} {reason}")
        self.name = name


Check = Callable[[str], str]


def shown(value: str) -> str:
    """The value quoted for a message, cut short so a huge one is not echoed back."""
    return repr(value[:40] + ("…" if len(value) > 40 else ""))


def sid(prefix: str) -> Check:
    pattern = re.compile(prefix + SID)

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {prefix} and 32 hex digits, not {shown(value)}")
        return value

    return check


MESSAGE_SID = re.compile(r"(SM|MM)" + SID)
# A text may hold line breaks and tabs; other control characters are refused.
BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def message_body(value: str) -> str:
    """A text's body, bounded like the caller's words."""
    if BODY_CONTROL.search(value):
        raise ValueError("must not contain control characters other than line breaks")
    return value[:MAX_SMS_BODY]


def message_sid(value: str) -> str:
    """A text's sid: SM (SMS) or MM (MMS) and 32 hex digits."""
    if not MESSAGE_SID.fullmatch(value):
        raise ValueError(f"must be SM or MM and 32 hex digits, not {shown(value)}")
    return value


def caller_id(value: str) -> str:
    """A number in its one written form (some carriers drop the "+"), or a caller word."""
    if E164.fullmatch(value):
        return canonical(value)
    if not CALLER_WORD.fullmatch(value):
        raise ValueError(f"must be an E.164 number, not {shown(value)}")
    return value


def one_of(choices: Iterable[str]) -> Check:
    allowed = tuple(choices)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{shown(value)} is not one of {', '.join(allowed)}")
        return value

    return check


def count(maximum: int) -> Check:
    def check(value: str) -> str:
        # isdecimal, not isdigit: "²" is a digit to Python but not to int()
        if not (value.isascii() and value.isdecimal()) or int(value) > maximum:
            raise ValueError(f"must be a whole number from 0 to {maximum}, not {shown(value)}")
        return str(int(value))

    return check


def fraction(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0.0 <= number <= 1.0:  # NaN fails too
        raise ValueError(f"must be a number from 0.0 to 1.0, not {shown(value)}")
    return str(number)


def text(limit: int) -> Check:
    """The caller's words: bounded by truncation (a long reply is still a reply)."""

    def check(value: str) -> str:
        if CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value[:limit]

    return check


def digits(value: str) -> str:
    if value == "hangup":  # <Record> reports a caller who hung up this way
        return value
    if not KEYPAD.fullmatch(value):
        raise ValueError(f"must be keypad digits, * or #, not {shown(value)}")
    # A caller mashing keys gets "didn't catch that", not a hang-up: 33 keys are no answer.
    return value[:MAX_DIGITS]


def url(value: str) -> str:
    if len(value) > MAX_URL or not URL.fullmatch(value) or CONTROL.search(value):
        raise ValueError(f"must be an http(s) URL of at most {MAX_URL} characters")
    return value


def error_code(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,6}", value):
        raise ValueError(f"must be a Twilio error number, not {shown(value)}")
    return value


FIELDS: Mapping[str, Check] = {
    "CallSid": sid("CA"),
    "ParentCallSid": sid("CA"),
    "DialCallSid": sid("CA"),
    "AccountSid": sid("AC"),
    "RecordingSid": sid("RE"),
    "MessageSid": message_sid,
    "SmsSid": message_sid,
    "SmsMessageSid": message_sid,
    "MessageStatus": one_of(MESSAGE_STATUSES),
    "SmsStatus": one_of(MESSAGE_STATUSES),
    "Body": message_body,
    "NumMedia": count(10),
    "NumSegments": count(MAX_DB_INT),
    "From": caller_id,
    "To": caller_id,
    "Direction": one_of(DIRECTIONS),
    "CallStatus": one_of(CALL_STATUSES),
    "DialCallStatus": one_of(DIAL_STATUSES),
    "RecordingStatus": one_of(RECORDING_STATUSES),
    "CallDuration": count(MAX_CALL_SECONDS),
    "DialCallDuration": count(MAX_CALL_SECONDS),
    "RecordingDuration": count(MAX_CALL_SECONDS),
    "SequenceNumber": count(MAX_DB_INT),
    "Confidence": fraction,
    "Digits": digits,
    "SpeechResult": text(MAX_SPEECH),
    "UnstableSpeechResult": text(MAX_SPEECH),
    "RecordingUrl": url,
    "ErrorUrl": url,
    "ErrorCode": error_code,
}


def clean(form: Mapping[str, str], required: Iterable[str] = ()) -> dict[str, str]:
    """The request's fields, each checked (and normalised) by its documented format.

    An empty value means "not given" to every handler, so it is kept as is. Fields we do
    not know are kept only when short and printable.

    Raises:
        BadParameter: a known field is malformed or a ``required`` one is missing.
    """
    params: dict[str, str] = {}
    for name, value in form.items():
        check = FIELDS.get(name)
        if check is None:
            if len(name) <= 64 and len(value) <= MAX_OTHER and not CONTROL.search(name + value):
                params[name] = value
            continue
        try:
            params[name] = check(value) if value else value
        except ValueError as exc:
            raise BadParameter(name, str(exc)) from None
    for name in required:
        if not params.get(name):
            raise BadParameter(name, "is required")
    return params


def clean_args(args: Mapping[str, str]) -> dict[str, str]:
    """Our own query parameters on a step URL: signed by Twilio, bounded all the same."""
    params: dict[str, str] = {}
    for name, value in args.items():
        if len(name) > 32 or len(value) > MAX_ARG or CONTROL.search(name + value):
            raise BadParameter(name or "query", "is not a parameter of our step URLs")
        params[name] = value
    if "step" in params and not STEP.fullmatch(params["step"]):
        raise BadParameter("step", f"is not a survey step: {shown(params['step'])}")
    if "try" in params and not re.fullmatch(r"[0-9]{1,3}", params["try"]):
        raise BadParameter("try", f"must be a small count, not {shown(params['try'])}")
    return params


def fields(text: str) -> list[tuple[str, str]]:
    """A url-encoded form's or query's (name, value) pairs, in order, repeated names kept:
    exactly ``parse_qsl(text, keep_blank_values=True, errors="strict")`` (a %-escape that is
    not UTF-8 raises UnicodeDecodeError), at a third of its cost, since most of Twilio's
    fields need no unquoting."""
    pairs = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name = unquote(name.replace("+", " "), errors="strict")
            value = unquote(value.replace("+", " "), errors="strict")
        pairs.append((name, value))
    return pairs


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each name's first value, in the order names first appear: what a Werkzeug
    ``MultiDict``'s ``items()`` gives (and so what ``clean`` reads of ``request.form``)."""
    first: dict[str, str] = {}
    for name, value in pairs:
        if name not in first:
            first[name] = value
    return first


def db_id(value: int) -> bool:
    """True for an id that can exist: a positive PostgreSQL INTEGER."""
    return 0 < value <= MAX_DB_INT
