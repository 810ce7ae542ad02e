"""Turning keypad digits and speech recognition results into answers and intents.

Keys mean exactly what the prompt says (see ``escape_keys``). Speech is read as a whole
(``read_speech``): the request in it, if the caller asks for something (``replies.intents``),
then the answer in what is left: the score given (``replies.numbers``) or yes/no
(``replies.polarity``). A reply may carry both: "eight, but can I talk to someone" is 8 and a
request for a person.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from core.models import QuestionKind
from replies.intents import Intent, read_intent
from replies.numbers import read_score
from replies.polarity import Pole, read_polarity
from replies.words import normalise

__all__ = [
    "SCALES",
    "Intent",
    "Reading",
    "detect_intent",
    "escape_keys",
    "parse_answer",
    "parse_yes_no",
    "read_reply",
    "read_speech",
    "spoken_digits",
]

log = logging.getLogger(__name__)

SCALES = {QuestionKind.NPS: (0, 10), QuestionKind.CSAT: (1, 5), QuestionKind.YES_NO: (0, 1)}
# Words a caller may use for the ends of the CSAT scale, because the prompt names them.
_CSAT_ENDS = {
    5: re.compile(r"(?<!\bnot )\b(?:very|extremely|completely|totally|really|fully) satisfied\b"),
    1: re.compile(
        r"(?<!\bnot )\b(?:very|extremely|completely|totally|really) (?:unsatisfied|dissatisfied)\b"
        r"|\bnot (?:at all )?satisfied at all\b"
    ),
}
# On a yes/no question "press 1 for yes, or 2 for no": "one" or "option two" said alone.
_KEY_WORDS = re.compile(
    r"^(?:(?:um|uh|er|erm|press|pressed|option|number|please|i|will|would|say|pick|choose"
    r"|go|with|for|it|is|the|,)\s+)*(one|two|1|2)(?:\s+(?:please|thanks|,))*$"
)


@dataclass(frozen=True)
class Reading:
    """What one reply means on one question: its value on the scale and any request.

    Both None means the caller has not answered and is asked again.
    """

    value: int | None = None
    intent: Intent | None = None

    @property
    def empty(self) -> bool:
        return self.value is None and self.intent is None


def escape_keys(kind: QuestionKind | None) -> dict[str, Intent]:
    """Keys that leave the survey at this point.

    0 (a person) and 9 (opt out) work wherever they cannot be an answer. On the NPS
    question they are scores, so there ``*`` asks for a person and speech does the rest.
    """
    keys = {"*": Intent.HUMAN}
    if kind is not QuestionKind.NPS:
        keys.update({"0": Intent.HUMAN, "9": Intent.OPT_OUT})
    return keys


def _keyed(kind: QuestionKind | None, digits: str) -> Reading:
    intent = escape_keys(kind).get(digits)
    if intent is not None:
        return Reading(intent=intent)
    if kind is QuestionKind.YES_NO or kind is None:
        return Reading(value={"1": 1, "2": 0}.get(digits))
    low, high = SCALES[kind]
    value = int(digits) if digits.isdigit() else None
    return Reading(value=value if value is not None and low <= value <= high else None)


def read_speech(kind: QuestionKind | None, speech: str) -> Reading:
    """Read a spoken reply to a question of this kind (None: any yes/no question).

    A reply the readers fail on is no answer (asked again), never an error: a webhook that
    fails ends the call with an apology and loses the answers so far.
    """
    try:
        return _read_speech(kind, speech)
    except Exception:
        log.exception("could not read a reply of %d characters", len(speech))
        return Reading()


def _read_speech(kind: QuestionKind | None, speech: str) -> Reading:
    text = normalise(speech)
    intent, rest = read_intent(text)
    if kind is QuestionKind.YES_NO or kind is None:
        value = _yes_no(rest, polite_only_counts=intent is None)
    else:
        low, high = SCALES[kind]
        value = read_score(rest, low, high, whole=intent is None)
        if value is None and kind is QuestionKind.CSAT:
            value = next((v for v, said in _CSAT_ENDS.items() if said.search(rest)), None)
    return Reading(value=value, intent=intent)


def _yes_no(text: str, *, polite_only_counts: bool) -> int | None:
    pole = read_polarity(text, mild=polite_only_counts)
    if pole is None:
        key = _KEY_WORDS.match(text)
        return None if key is None else (1 if key.group(1) in ("one", "1") else 0)
    return None if pole is Pole.MIXED else pole.value


def read_reply(kind: QuestionKind | None, digits: str, speech: str) -> Reading:
    """One reply, keyed or spoken. Keys win when both arrive, as Twilio sends one or the other."""
    if digits:
        return _keyed(kind, digits)
    return read_speech(kind, speech)


def parse_yes_no(digits: str, speech: str) -> bool | None:
    """1 or a spoken yes -> True; 2 or a spoken no -> False; otherwise None."""
    value = read_reply(QuestionKind.YES_NO, digits, speech).value
    return None if value is None else bool(value)


def parse_answer(kind: QuestionKind, digits: str, speech: str) -> int | None:
    """Normalise one reply to the question's scale, or None when it is not a valid answer."""
    return read_reply(kind, digits, speech).value


def detect_intent(kind: QuestionKind | None, digits: str, speech: str) -> Intent | None:
    """A request for a person or to opt out, by key or by voice."""
    return read_reply(kind, digits, speech).intent


def spoken_digits(number: str) -> str:
    """Digits grouped for reading back: "+15551234567" -> "5 5 5, 1 2 3, 4 5 6 7"."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    groups = [digits[:3], digits[3:6], digits[6:]] if len(digits) == 10 else [digits]
    return ", ".join(" ".join(group) for group in groups if group)
