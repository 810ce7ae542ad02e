"""May we call this number now? The one gate for survey calls, callbacks and texts.

Every outbound contact asks ``check`` twice: when it is asked for (a survey request, a task
offered to an agent) and again at the moment of dialling, since a number can be put on the
do-not-call list, opt out, or leave its calling hours in between. The checks, in order:

1. **Dialling policy**: only numbers of ``DIAL_ALLOWED_COUNTRIES`` (default US and Canada),
   and only ordinary fixed or mobile lines: premium-rate (+1 900, +1 976 …), toll-free,
   shared-cost, pager, personal and other special numbers are refused, whatever country.
2. **Suppression**: an opt-out or do-not-call entry (``core.suppression``, which outlives
   erasure, and the contact's own flags). Do-not-call admits no exception; an opt-out gives
   way only to a callback the caller asked for after opting out (``consent_at``).
3. **Frequency cap** (surveys only): at most one survey per ``SURVEY_MIN_DAYS_BETWEEN`` days
   per number, counting calls placed and requests already scheduled.
4. **Calling hours**: ``CALLING_HOURS`` in the callee's zone (from the number, else
   ``DEFAULT_TIMEZONE``), the same window maths as callbacks (``core.hours``). This is the
   only refusal that passes: it carries ``retry_at``, the next opening (DST-correct).

The SMS channel, when it comes, calls ``check(number, channel=Channel.SMS, now=...)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app
from phonenumbers import PhoneNumberType
from sqlalchemy import or_

from core import contacts, hours
from core.db import db
from core.models import CallSession, SurveyOutcome
from core.suppression import suppression_reason
from core.survey_requests import pending_for


class Channel(enum.StrEnum):
    SURVEY = "survey"
    CALLBACK = "callback"
    SMS = "sms"


@dataclass(frozen=True)
class Refusal:
    """Why we may not call; ``retry_at`` (UTC) is set when waiting is enough (calling hours)."""

    code: str
    message: str
    retry_at: datetime | None = None

    def __str__(self) -> str:
        return self.message


# NANP premium-rate blocks; 976 is no longer an area code, so the library reads +1 976 … as
# invalid rather than premium: named here so the refusal says what the number is.
PREMIUM_PREFIXES = ("+1900", "+1976")
LINE_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,  # ordinary subscriber numbers in several countries
    }
)
SPECIAL_TYPES = {
    PhoneNumberType.PREMIUM_RATE: ("premium_rate", "a premium-rate number"),
    PhoneNumberType.TOLL_FREE: ("special_number", "a toll-free number"),
    PhoneNumberType.SHARED_COST: ("special_number", "a shared-cost number"),
    PhoneNumberType.PERSONAL_NUMBER: ("special_number", "a personal (follow-me) number"),
    PhoneNumberType.PAGER: ("special_number", "a pager"),
    PhoneNumberType.UAN: ("special_number", "a company switchboard (UAN) number"),
    PhoneNumberType.VOICEMAIL: ("special_number", "a voicemail access number"),
}


def allowed_countries() -> frozenset[str]:
    raw = str(current_app.config["DIAL_ALLOWED_COUNTRIES"])
    return frozenset(code.strip().upper() for code in raw.split(",") if code.strip())


def dialling_refusal(number: str) -> Refusal | None:
    """The dialling policy: allowed countries, ordinary lines only."""
    if number.startswith(PREMIUM_PREFIXES):
        return Refusal("premium_rate", f"{number} is a premium-rate number; we never dial those.")
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        return Refusal(
            "special_number", f"{number} is not an ordinary phone number (short or special)."
        )
    region = phonenumbers.region_code_for_number(parsed) or "?"
    if region not in allowed_countries():
        allowed = ", ".join(sorted(allowed_countries())) or "none"
        return Refusal(
            "country_not_allowed",
            f"{number} is a {region} number; we dial only {allowed} (DIAL_ALLOWED_COUNTRIES).",
        )
    kind = phonenumbers.number_type(parsed)
    if kind not in LINE_TYPES:
        code, what = SPECIAL_TYPES.get(kind, ("special_number", "not an ordinary line"))
        return Refusal(code, f"{number} is {what}; we dial only ordinary fixed or mobile lines.")
    return None


def suppression_refusal(number: str, *, consent_at: datetime | None = None) -> Refusal | None:
    """Do-not-call or opt-out; an opt-out yields only to consent given after it."""
    reason = suppression_reason(number)
    contact = contacts.find(number)
    if contact is not None:
        db.session.refresh(contact)  # a flag set by another request since we read it
        if reason is None and contact.do_not_call_at is not None:
            reason = "do_not_call"
        elif reason is None and contact.opted_out_at is not None:
            reason = "opted_out"
    if reason == "do_not_call":
        return Refusal("do_not_call", f"{number} is on the do-not-call list.")
    if reason == "opted_out":
        opted_out_at = contact.opted_out_at if contact is not None else None
        if consent_at is not None and opted_out_at is not None and consent_at >= opted_out_at:
            return None  # asked for this callback after opting out: asking is consent
        return Refusal("opted_out", f"{number} opted out; we do not call them.")
    return None


def min_days_between() -> int:
    return int(current_app.config["SURVEY_MIN_DAYS_BETWEEN"])


def survey_cap_refusal(
    number: str, now: datetime, *, request_id: int | None = None
) -> Refusal | None:
    """At most one survey per ``SURVEY_MIN_DAYS_BETWEEN`` days (``request_id``: the
    scheduled request being dialled, which must not count against itself)."""
    days = min_days_between()
    if days <= 0:
        return None
    pending = pending_for(number, besides=request_id)
    if pending is not None:
        return Refusal(
            "survey_already_scheduled",
            f"A survey call to {number} is already scheduled for "
            f"{pending.scheduled_for.isoformat()}; surveys are at least {days} days apart.",
        )
    contact = contacts.find(number)
    if contact is None:
        return None
    last = db.session.scalar(
        db.select(CallSession.created_at)
        .where(CallSession.contact_id == contact.id)
        .where(CallSession.is_test.is_(False))
        # rung by us, or surveyed after their own call (a caller who hung up on the agent
        # was never surveyed)
        .where(
            or_(
                CallSession.direction.like("outbound%"),
                CallSession.outcome != SurveyOutcome.NOT_STARTED,
            )
        )
        .where(CallSession.created_at > now - timedelta(days=days))
        .order_by(CallSession.created_at.desc())
        .limit(1)
    )
    if last is None:
        return None
    after = last + timedelta(days=days)
    return Refusal(
        "recently_surveyed",
        f"{number} was surveyed on {last:%Y-%m-%d}; surveys are at least {days} days apart "
        f"(SURVEY_MIN_DAYS_BETWEEN), so the next may be from {after:%Y-%m-%d %H:%M} UTC.",
    )


def calling_window() -> hours.Window:
    return hours.Window.parse(current_app.config["CALLING_HOURS"])


def zone(name: str | None) -> ZoneInfo:
    """The named zone, or ``DEFAULT_TIMEZONE`` when it is missing or unknown."""
    return hours.zone(name, current_app.config["DEFAULT_TIMEZONE"])


def callee_zone(number: str, known: str | None = None) -> ZoneInfo:
    """Where the callee is: the number's own zone when its plan names one, else ``known``
    (e.g. the zone stored with a task), else ``DEFAULT_TIMEZONE``."""
    return zone(contacts.guess_timezone(number) or known)


def hours_refusal(number: str, now: datetime, tz: ZoneInfo | None = None) -> Refusal | None:
    """Outside the callee's calling hours: refused until the next opening."""
    tz = tz or callee_zone(number)
    window = calling_window()
    if hours.is_allowed(now, tz, window):
        return None
    opens = hours.next_allowed(now, tz, window)
    return Refusal(
        "outside_calling_hours",
        f"It is {now.astimezone(tz):%H:%M} for the callee ({tz.key}); calls are allowed "
        f"{window.start:%H:%M}-{window.end:%H:%M}, next from {opens.astimezone(tz):%a %H:%M}.",
        retry_at=opens,
    )


def check(
    number: str,
    *,
    channel: Channel,
    now: datetime,
    consent_at: datetime | None = None,
    tz: ZoneInfo | None = None,
    request_id: int | None = None,
) -> Refusal | None:
    """None when ``number`` may be called (or texted) at ``now``; else the first refusal.

    Refusals that waiting cannot cure come first, so a number that is both suppressed and
    outside its hours is refused, never scheduled.
    """
    refusal = dialling_refusal(number) or suppression_refusal(number, consent_at=consent_at)
    if refusal is None and channel is Channel.SURVEY:
        refusal = survey_cap_refusal(number, now, request_id=request_id)
    return refusal or hours_refusal(number, now, tz)
