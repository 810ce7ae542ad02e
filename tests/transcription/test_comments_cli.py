"""``flask comments read``: one comment per line in, one JSON object per line out."""

from __future__ import annotations

import json

from flask import Flask


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
