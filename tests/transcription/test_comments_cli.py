"""``flask comments read``: one comment per line in, one JSON object per line out."""

from __future__ import annotations

import json

from flask import Flask

from transcription.analysis import analyse_comment


def _read(app: Flask, lines: list[str]) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["comments", "read"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_read_prints_labels_and_phrases_per_comment(app: Flask) -> None:
    """Each line gets its flagged labels, in order, and the phrases that explain them."""
    printed = _read(
        app,
        [
            "i can't cope with this anymore",
            "the agent was lovely, thank you",
            "please ring me back, and stop sending me these surveys",
        ],
    )
    assert printed[0] == {
        "text": "i can't cope with this anymore",
        "labels": ["distress"],
        "phrases": {"distress": ["can't cope"]},
    }
    assert printed[1] == {"text": "the agent was lovely, thank you", "labels": [], "phrases": {}}
    assert printed[2]["labels"] == ["contact_request", "opt_out"]
    assert printed[2]["phrases"]["contact_request"] == ["ring me back"]
    assert printed[2]["phrases"]["opt_out"] == ["stop sending me these surveys"]


def test_read_answers_every_line_even_a_blank_one(app: Flask) -> None:
    """Output lines match input lines one to one, so a caller can zip them."""
    printed = _read(app, ["", "STOP CALLING ME", "  "])
    assert [p["text"] for p in printed] == ["", "STOP CALLING ME", "  "]
    assert [p["labels"] for p in printed] == [[], ["opt_out"], []]


def test_read_phrases_are_verbatim_pieces_of_the_text(app: Flask) -> None:
    """Every phrase printed is a substring of its comment, as the console highlights it."""
    comments = [
        "honestly my mum is beside herself, she needs her prescription by friday",
        "i was worried at first but you sorted it, cheers",
        "ive been on hold for an hour and nobody listens, call me",
    ]
    for row in _read(app, comments):
        assert set(row["phrases"]) == set(row["labels"])
        for phrases in row["phrases"].values():
            assert phrases
            assert all(p in row["text"] for p in phrases)


def _run(app: Flask, data: bytes) -> tuple[int, list[dict]]:
    result = app.test_cli_runner().invoke(args=["comments", "read"], input=data)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def test_bytes_that_are_not_utf8_are_read_and_later_lines_too(app: Flask) -> None:
    """A line of invalid UTF-8 is read with U+FFFD in place of the bytes, and so is the next."""
    code, printed = _run(app, b"\xff\xfe bad\nSTOP CALLING ME\n")
    assert code == 0
    # What "bad" is read as is the model's call (2.8.0: negative); the line is read, not failed.
    assert printed[0]["text"] == "\ufffd\ufffd bad" and "error" not in printed[0]
    assert printed[1]["text"] == "STOP CALLING ME" and printed[1]["labels"] == ["opt_out"]


def test_a_nul_in_a_comment_is_no_request(app: Flask) -> None:
    """Control characters are read as spaces, as the worker reads a transcript: "a\\x00b" is no
    request to be called."""
    code, printed = _run(app, b"a\x00b\n")
    assert code == 0 and printed[0]["labels"] == []
    assert analyse_comment("a\x00b").flagged() == []


def test_a_line_past_the_longest_comment_gets_an_error_and_the_rest_are_read(app: Flask) -> None:
    """Over 6,000 characters (MAX_COMMENT): an error, no labels, the next line read, exit 1."""
    code, printed = _run(app, ("call me " * 1_000 + "\nSTOP CALLING ME\n").encode())
    assert code == 1
    assert printed[0]["labels"] == [] and "longer than 6000" in printed[0]["error"]
    assert printed[1]["labels"] == ["opt_out"] and "error" not in printed[1]
