"""Reading keypad and speech replies.

The spoken tables live in ``tests/fixtures/answers/{nps,csat,yes_no}.jsonl``: one reply per
line with the value and intent the survey must take from it (both null: it asks again).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.models import QuestionKind
from replies.answers import (
    Intent,
    Reading,
    detect_intent,
    parse_answer,
    parse_yes_no,
    read_reply,
    read_speech,
    spoken_digits,
)

NPS, CSAT, YES_NO = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.YES_NO
TABLES = Path(__file__).parent / "fixtures" / "answers"
MIN_CASES = 150


def table(kind: QuestionKind) -> list[dict[str, Any]]:
    lines = (TABLES / f"{kind.value}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def cases(kind: QuestionKind) -> list[Any]:
    return [
        pytest.param(kind, row["speech"], row["value"], row["intent"], id=f"{kind}:{row['speech']}")
        for row in table(kind)
    ]


@pytest.mark.parametrize(
    ("kind", "speech", "value", "intent"), cases(NPS) + cases(CSAT) + cases(YES_NO)
)
def test_spoken_reply_is_read_as_a_whole(
    kind: QuestionKind, speech: str, value: int | None, intent: str | None
) -> None:
    """Each spoken reply in the tables gives the expected value and request."""
    reading = read_speech(kind, speech)
    assert (reading.value, reading.intent) == (value, None if intent is None else Intent(intent))


@pytest.mark.parametrize("kind", [NPS, CSAT, YES_NO])
def test_every_kind_has_a_varied_table(kind: QuestionKind) -> None:
    """At least 150 distinct replies per kind, with answers, requests and non-answers."""
    rows = table(kind)
    assert len({row["speech"] for row in rows}) == len(rows) >= MIN_CASES
    assert {row["intent"] for row in rows} == {None, "human", "opt_out"}
    assert any(row["value"] is None and row["intent"] is None for row in rows)
    assert any(row["value"] is not None and row["intent"] is not None for row in rows)


@pytest.mark.parametrize(
    ("kind", "speech", "expected"),
    [
        (NPS, "ten, the agent was great", Reading(10)),
        (NPS, "eight, they helped me stop the charge", Reading(8)),
        (NPS, "nothing wrong, I'd give it a ten", Reading(10)),
        (YES_NO, "absolutely not", Reading(0)),
        (NPS, "eight, but can I talk to someone about my bill", Reading(8, Intent.HUMAN)),
        (NPS, "seven, no, eight", Reading(8)),
        (NPS, "five... actually make that four", Reading(4)),
        (NPS, "I called three times. Six.", Reading(6)),
        (NPS, "ten out of ten", Reading(10)),
        (YES_NO, "yes and no", Reading()),
        (YES_NO, "yeah, no worries", Reading(1)),
    ],
)
def test_the_issue_examples(kind: QuestionKind, speech: str, expected: Reading) -> None:
    """The replies issue 9 quotes are read the way a person would."""
    assert read_speech(kind, speech) == expected


@pytest.mark.parametrize(
    ("kind", "digits", "speech", "expected"),
    [
        (NPS, "10", "", 10),
        (NPS, "0", "", 0),
        (NPS, "9", "", 9),
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
        (YES_NO, "0", "", Intent.HUMAN),
        (YES_NO, "9", "", Intent.OPT_OUT),
        (None, "9", "", Intent.OPT_OUT),
        (NPS, "0", "", None),
        (NPS, "9", "", None),
        (NPS, "*", "", Intent.HUMAN),
        (CSAT, "*", "", Intent.HUMAN),
        (NPS, "", "can I talk to a real person", Intent.HUMAN),
        (YES_NO, "", "please stop calling me", Intent.OPT_OUT),
        (YES_NO, "", "yes", None),
    ],
)
def test_escape_keys_and_words(
    kind: QuestionKind | None, digits: str, speech: str, expected: Intent | None
) -> None:
    """0/9 escape wherever they are not scores; * and words work everywhere."""
    assert detect_intent(kind, digits, speech) == expected


def test_keys_win_over_speech() -> None:
    """When both arrive the key is the reply, as the caller pressed it."""
    assert read_reply(NPS, "3", "ten out of ten") == Reading(3)


@pytest.mark.parametrize(
    ("digits", "speech", "expected"),
    [("1", "", True), ("2", "", False), ("0", "", None), ("", "yes please", True),
     ("", "no more calls please", None), ("", "sort of", None)],
)  # fmt: skip
def test_yes_no_for_confirmations(digits: str, speech: str, expected: bool | None) -> None:
    """parse_yes_no: 1/2 or a spoken yes/no; a request alone is neither."""
    assert parse_yes_no(digits, speech) is expected


def test_numbers_are_read_back_in_groups() -> None:
    """A North American number is read as three groups of digits."""
    assert spoken_digits("+14155550199") == "4 1 5, 5 5 5, 0 1 9 9"


def test_cli_prints_one_json_object_per_reply(app: Flask) -> None:
    """`flask answers parse --kind nps` reads stdin and prints what the survey does."""
    replies = "ten, the agent was great\nstop calling me\nseven or eight\n"
    result = app.test_cli_runner().invoke(args=["answers", "parse", "--kind", "nps"], input=replies)
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines()]
    assert printed == [
        {"speech": "ten, the agent was great", "value": 10, "intent": None},
        {"speech": "stop calling me", "value": None, "intent": "opt_out"},
        {"speech": "seven or eight", "value": None, "intent": None},
    ]


def test_cli_reads_yes_no_as_one_and_zero(app: Flask) -> None:
    """On yes/no the value is 1 for yes and 0 for no."""
    result = app.test_cli_runner().invoke(
        args=["answers", "parse", "--kind", "yes_no"], input="absolutely not\nyou bet\n"
    )
    assert [json.loads(line)["value"] for line in result.output.splitlines()] == [0, 1]
