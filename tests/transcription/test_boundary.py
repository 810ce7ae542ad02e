"""The edge-of-label flags the comment model reads (``transcription.boundary``)."""

from __future__ import annotations

import pytest

from transcription.boundary import BOUNDARY_NAMES, boundary_features
from transcription.comment_model import cue_feature_names, cue_features
from transcription.rules import read_rules


def _flags(text: str) -> set[str]:
    values = boundary_features(text, read_rules(text))
    return {name for name, v in zip(BOUNDARY_NAMES, values, strict=True) if v}


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("i was panicking but she sorted it, i'm fine now", "distress.past"),
        ("i was panicking but she sorted it, i'm fine now", "distress.resolved_after"),
        ("i'm still worried even though they said it's fixed", "distress.still_open"),
        ("if the power ever went off i'd be terrified", "distress.hypothetical"),
        ("this is ridiculous, i'm furious", "distress.anger_without_fear"),
        ("dying to try the new app", "distress.idiom"),
    ],
)
def test_edge_wording_is_flagged(text: str, flag: str) -> None:
    """Each flag fires on the wording data/LABELS.md names as a near miss."""
    assert flag in _flags(text)


def test_open_fear_is_not_anger_without_fear() -> None:
    """Anger next to fear is not the anger-only case."""
    assert "distress.anger_without_fear" not in _flags("i'm furious and scared they'll cut us off")


def test_a_plain_opt_out_raises_no_edge_flag() -> None:
    """'take me off your list' says nothing about distress's edges."""
    assert not _flags("take me off your list")


def test_flags_are_part_of_the_cue_block() -> None:
    """The model's cue block carries one value per named flag, at its end."""
    text = "i was worried"
    assert len(cue_features(text, read_rules(text))) == len(cue_feature_names())
    assert cue_feature_names()[-len(BOUNDARY_NAMES) :] == list(BOUNDARY_NAMES)
