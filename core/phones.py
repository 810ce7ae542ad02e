"""The one written form of a phone number: E.164, whichever way it reached us.

A CRM may send "15005550006", "(500) 555-0006" or "+1 500-555-0006", and some carriers give
Twilio's ``From`` without the "+"; all of them are one person, so every number is turned
into E.164 where it enters (API bodies and paths, Twilio's ``From``/``To``, a number keyed
in for a callback) and the contact, the suppression hash and every check see one form.

The rule: a number written with "+" is international; digits without "+" are read in
``DEFAULT_REGION`` (US: "1 415 …" and "415 …" are both +1 415 …), or in the region of a
number we already know (a caller keying in another number), and only when they cannot be
a number there, as international digits whose "+" was dropped. Only digits, spaces, dots,
dashes and parentheses may appear: letters (vanity numbers, "ext. 12") are refused rather
than guessed at. Already-E.164 text is returned as it is.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import ValidationResult

# Where a number written without "+" is read. The product dials the US and Canada (+1 both).
DEFAULT_REGION = "US"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
WRITTEN = re.compile(r"\+?[0-9 ().\-]{1,40}")  # what people and CRMs put between digits


class InvalidNumber(ValueError):
    """Not a (dialable) phone number; the message says which and why."""


def normalise(number: str, region: str = DEFAULT_REGION) -> str:
    """``number`` as E.164, the form every table and check uses.

    Raises:
        InvalidNumber: it cannot be a phone number (letters, too short or too long).
    """
    text = number.strip()
    if E164.fullmatch(text):
        return text
    shown = repr(text[:40])
    if not WRITTEN.fullmatch(text) or not any(c.isdigit() for c in text):
        raise InvalidNumber(f"{shown} is not a phone number")
    parsed = _parse(text, region)
    if parsed is None and not text.startswith("+"):
        # Digits that cannot be a number of the region but are one with "+" in front: an
        # international number whose "+" a carrier dropped ("447911123456").
        parsed = _parse("+" + text, region)
        if parsed is not None and not phonenumbers.is_valid_number(parsed):
            parsed = None
    if parsed is None:
        raise InvalidNumber(f"{shown} is not a phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # A local number without its area code (IS_POSSIBLE_LOCAL_ONLY) is not one either.
    if phonenumbers.is_possible_number_with_reason(parsed) != ValidationResult.IS_POSSIBLE:
        return None
    return parsed


def to_e164(number: str, region: str = DEFAULT_REGION) -> str:
    """E.164 for a number we may dial or list: ``normalise`` and a number in use."""
    e164 = normalise(number, region)
    if not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
        raise InvalidNumber(f"{number.strip()[:40]!r} is not a valid phone number")
    return e164


def canonical(number: str) -> str:
    """E.164 when ``number`` can be a phone number, else the text as given (stripped).

    For values that need not be numbers: Twilio's caller ids ("client:alice", "anonymous",
    a short code) and numbers read back for a hash.
    """
    try:
        return normalise(number)
    except InvalidNumber:
        return number.strip()


def region_of(number: str) -> str:
    """The region of a known E.164 number, ``DEFAULT_REGION`` when it has none."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return DEFAULT_REGION
    return phonenumbers.region_code_for_number(parsed) or DEFAULT_REGION
