"""Turning keypad digits and speech recognition results into answers and intents."""

from __future__ import annotations

import enum
import re

from core.models import QuestionKind

_NUMBER_WORDS = {
    "zero": 0,
    "oh": 0,
    "nought": 0,
    "nothing": 0,
    "one": 1,
    "won": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_YES = {
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "correct",
    "right",
    "absolutely",
    "definitely",
    "ok",
    "okay",
}
_NO = {"no", "nope", "nah", "not", "never", "negative"}
_HUMAN_WORDS = re.compile(
    r"\b(agent|person|human|representative|operator|someone|somebody|real person)\b"
)
_OPT_OUT_WORDS = re.compile(
    r"\b(stop|opt out|opt-out|unsubscribe|remove me|take me off|do not call|don't call)\b"
)
_TOKEN = re.compile(r"[a-z]+|\d+")

SCALES = {QuestionKind.NPS: (0, 10), QuestionKind.CSAT: (1, 5), QuestionKind.YES_NO: (0, 1)}


class Intent(enum.StrEnum):
    HUMAN = "human"
    OPT_OUT = "opt_out"


def _tokens(speech: str) -> list[str]:
    return _TOKEN.findall(speech.lower().replace("\u2019", "'"))


def first_number(speech: str) -> int | None:
    """The first number said: "nine out of ten" -> 9, "I'd give it a 10" -> 10."""
    for token in _tokens(speech):
        if token.isdigit():
            return int(token)
        if token in _NUMBER_WORDS:
            return _NUMBER_WORDS[token]
    return None


def parse_yes_no(digits: str, speech: str) -> bool | None:
    """1 or "yes"-like words -> True; 2 or "no"-like words -> False; otherwise None."""
    if digits:
        return {"1": True, "2": False}.get(digits)
    for word in _tokens(speech):  # the first polar word decides: "not really", "yes it was"
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def parse_answer(kind: QuestionKind, digits: str, speech: str) -> int | None:
    """Normalise one reply to the question's scale, or None when it is not a valid answer."""
    if kind is QuestionKind.YES_NO:
        verdict = parse_yes_no(digits, speech)
        return None if verdict is None else int(verdict)
    low, high = SCALES[kind]
    value = first_number(speech) if not digits else int(digits) if digits.isdigit() else None
    if value is None or not low <= value <= high:
        return None
    return value


def escape_keys(kind: QuestionKind | None) -> dict[str, Intent]:
    """Keys that leave the survey at this point.

    0 (a person) and 9 (opt out) work wherever they cannot be an answer. On the NPS
    question they are scores, so there ``*`` asks for a person and speech does the rest.
    """
    keys = {"*": Intent.HUMAN}
    if kind is not QuestionKind.NPS:
        keys.update({"0": Intent.HUMAN, "9": Intent.OPT_OUT})
    return keys


def detect_intent(kind: QuestionKind | None, digits: str, speech: str) -> Intent | None:
    """A request for a person or to opt out, by key or by voice."""
    if digits:
        return escape_keys(kind).get(digits)
    text = speech.lower()
    if _OPT_OUT_WORDS.search(text):
        return Intent.OPT_OUT
    if _HUMAN_WORDS.search(text):
        return Intent.HUMAN
    return None


def spoken_digits(number: str) -> str:
    """Digits grouped for reading back: "+15551234567" -> "5 5 5, 1 2 3, 4 5 6 7"."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    groups = [digits[:3], digits[3:6], digits[6:]] if len(digits) == 10 else [digits]
    return ", ".join(" ".join(group) for group in groups if group)
