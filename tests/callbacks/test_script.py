"""The apology script quotes the caller's own sentence around what was flagged, trimmed to
a clause an agent can read aloud, in the five trained steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from callbacks import script
from core import quotes
from tests.callbacks.conftest import make_task
from transcription.analysis import analyse_comment

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Real survey comments (tests/fixtures/comments.jsonl), as Whisper wrote them.
COMMENTS = [json.loads(line)["text"] for line in (FIXTURES / "comments.jsonl").open()]
STEPS = [
    "Take responsibility",
    "Express regret",
    "Repair",
    "Explain",
    "Promise it will not recur",
]


def regret(comment: str, **session: object) -> str:
    task = make_task(comment=comment, **session)
    steps = script.apology(task, {"nps": 3}, analyse_comment(comment))
    assert [s.title for s in steps] == STEPS
    return steps[1].text


@pytest.mark.parametrize(
    ("comment", "quoted"),
    [
        (
            "Please call me back as soon as you can, my rent is due Friday and the payment "
            "still hasn't gone through.",
            "Please call me back as soon as you can, my rent is due Friday and the payment "
            "still hasn't gone through",
        ),
        (
            "I can't sleep over this. They took 600 pounds out of my account and nobody can "
            "tell me why.",
            "I can't sleep over this",
        ),
        (
            "my mother needs her medication and the pharmacy account is still locked can "
            "someone ring me today",
            "my mother needs her medication and the pharmacy account is still locked can "
            "someone ring me today",
        ),
    ],
)
def test_regret_quotes_the_callers_sentence_not_the_cue(
    app: Flask, comment: str, quoted: str
) -> None:
    """The whole sentence around the flagged words, as said, without our full stop."""
    text = regret(comment)
    assert f"You told us “{quoted}”, and I understand why." in text
    assert "“rent”" not in text and "“can't sleep”" not in text


def test_a_long_sentence_is_cut_at_its_clauses_with_an_ellipsis(app: Flask) -> None:
    """Past 25 words the clause with the strongest cue and its neighbours are kept."""
    comment = (
        "I rang on Monday, I rang again on Tuesday, and every single time I was promised a "
        "refund by Friday, but nothing has arrived and I'm terrified I won't make rent this "
        "month, which has never happened to me before in twenty years."
    )
    said = script.caller_quote(analyse_comment(comment))
    # "terrified" outweighs the dates and "rent" among the distress cues: its clause leads.
    assert said == (
        "…but nothing has arrived and I'm terrified I won't make rent this month, which has "
        "never happened to me before in twenty years"
    )
    assert len(said.strip("…").split()) <= quotes.MAX_WORDS


def test_an_unpunctuated_transcript_keeps_a_window_around_the_cue(app: Flask) -> None:
    """Whisper without full stops: 25 words around the cue, never the whole ramble."""
    comment = (
        "so basically i rang up about the direct debit and the lady said it would be fixed in "
        "three days but it wasnt and now the rent has bounced and i have a late fee and i am "
        "really stressed about it all to be honest"
    )
    said = script.caller_quote(analyse_comment(comment))
    assert said is not None and said.startswith("…") and "stressed" in said
    assert len(said.strip("…").split()) <= quotes.MAX_WORDS
    assert said.strip("…") in comment


@pytest.mark.parametrize("comment", COMMENTS)
def test_every_real_comment_gives_a_verbatim_readable_quote(app: Flask, comment: str) -> None:
    """Each fixture comment: the caller's words, at most 25, holding one of the cues."""
    analysis = analyse_comment(comment)
    said = script.caller_quote(analysis)
    flagged = [n for n in script.QUOTED_LABELS if n in analysis.flagged()]
    if not flagged:
        assert said is None
        return
    assert said is not None
    words = said.replace("…", " ").strip()
    assert words and words in comment
    assert len(words.split()) <= quotes.MAX_WORDS
    result = analysis.labels[flagged[0]]
    if result.spans:
        assert any(comment[start:end] in said for start, end in result.spans)


def test_distress_is_quoted_before_a_complaint_and_named_as_worry(app: Flask) -> None:
    """An anxious comment: the regret names worry and quotes the anxious sentence."""
    comment = "The app kept crashing. I'm worried sick, my pension hasn't come in."
    text = regret(comment)
    assert text.startswith("I'm sorry we left you feeling worried.")
    assert "“I'm worried sick, my pension hasn't come in”" in text


def test_no_comment_means_no_quote(app: Flask) -> None:
    """Scores alone: the regret says sorry without inventing words for the caller."""
    task = make_task(nps=2)
    steps = script.apology(task, {"nps": 2}, None)
    assert steps[1].text == "I'm sorry we left you feeling let down."
    assert "you scored us 2 out of 10" in steps[0].text
