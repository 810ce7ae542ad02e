"""Reading keypad and speech replies."""

from __future__ import annotations

import pytest

from core.models import QuestionKind
from ivr.answers import Intent, detect_intent, parse_answer, spoken_digits

NPS, CSAT, YES_NO = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.YES_NO


@pytest.mark.parametrize(
    ("kind", "digits", "speech", "expected"),
    [
        (NPS, "10", "", 10),
        (NPS, "0", "", 0),
        (NPS, "11", "", None),
        (NPS, "", "ten", 10),
        (NPS, "", "nine out of ten", 9),
        (NPS, "", "I'd give it a 7", 7),
        (NPS, "", "no idea", None),
        (CSAT, "6", "", None),
        (CSAT, "", "five", 5),
        (CSAT, "", "zero", None),
        (YES_NO, "1", "", 1),
        (YES_NO, "2", "", 0),
        (YES_NO, "3", "", None),
        (YES_NO, "", "yeah it was", 1),
        (YES_NO, "", "not really", 0),
        (YES_NO, "", "maybe", None),
    ],
)
def test_replies_are_normalised_to_the_question_scale(
    kind: QuestionKind, digits: str, speech: str, expected: int | None
) -> None:
    """Digits and words map onto the scale; anything outside it is not an answer."""
    assert parse_answer(kind, digits, speech) == expected


@pytest.mark.parametrize(
    ("kind", "digits", "speech", "expected"),
    [
        (CSAT, "0", "", Intent.HUMAN),
        (CSAT, "9", "", Intent.OPT_OUT),
        (NPS, "0", "", None),
        (NPS, "9", "", None),
        (NPS, "*", "", Intent.HUMAN),
        (NPS, "", "can I talk to a real person", Intent.HUMAN),
        (YES_NO, "", "please stop calling me", Intent.OPT_OUT),
        (YES_NO, "", "yes", None),
    ],
)
def test_escape_keys_and_words(
    kind: QuestionKind, digits: str, speech: str, expected: Intent | None
) -> None:
    """0/9 escape wherever they are not scores; * and words work everywhere."""
    assert detect_intent(kind, digits, speech) == expected


def test_numbers_are_read_back_in_groups() -> None:
    """A North American number is read as three groups of digits."""
    assert spoken_digits("+14155550199") == "4 1 5, 5 5 5, 0 1 9 9"
