"""The batched decoder's guard against a clip said twice into its window's padding."""

from __future__ import annotations

import pytest

from transcription.short_clips import without_repeated_tail


@pytest.mark.parametrize(
    ("decoded", "kept"),
    [
        (" The bill is wrong again. The bill is wrong again.", " The bill is wrong again."),
        (
            " please call me back please call me back please call me back",
            " please call me back",
        ),
        (
            " It's my mother's prescription. its my mothers prescription",
            " It's my mother's prescription.",
        ),
    ],
)
def test_a_sentence_said_again_at_the_end_is_dropped(decoded: str, kept: str) -> None:
    """A block of four or more words repeated word for word at the end is said once."""
    assert without_repeated_tail(decoded) == kept


@pytest.mark.parametrize(
    "decoded",
    [
        " no no no no",
        " I was charged twice. Charged twice.",
        " it was fine it was fine really",
        " The engineer came and the engineer fixed it.",
        "",
    ],
)
def test_what_a_caller_repeats_themselves_stays(decoded: str) -> None:
    """Short repeats, and repeats not at the very end, are the caller's words: kept."""
    assert without_repeated_tail(decoded) == decoded
