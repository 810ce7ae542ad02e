"""``flask transcription transcribe``: every file given gets one line, in the order given; a
file that cannot be read gets ``"text": null`` and an error while the others are transcribed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

AUDIO = Path(__file__).parent.parent / "fixtures" / "audio"
MISSING = str(AUDIO / "no-such-recording.wav")


def transcribe(app: Flask, *args: str) -> tuple[int, list[dict]]:
    result = app.test_cli_runner().invoke(args=["transcription", "transcribe", *args])
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("batch", [[], ["--batch"]], ids=["one-by-one", "batch"])
def test_unreadable_files_fail_alone_in_the_order_given(app: Flask, batch: list[str]) -> None:
    """A missing file and a directory get text null and an error, in place; exit status 1."""
    given = [str(AUDIO / "call_me.wav"), MISSING, str(AUDIO), str(AUDIO / "happy.wav")]
    code, printed = transcribe(app, *batch, *given)
    assert code == 1
    assert [line["file"] for line in printed] == given
    assert [line["text"] is None for line in printed] == [False, True, True, False]
    assert "call me back" in printed[0]["text"] and "error" not in printed[0]
    assert all(line["error"] for line in printed[1:3])


def test_a_batch_prints_a_file_that_fails_to_decode_in_its_place(app: Flask) -> None:
    """--batch with a corrupt file in the middle prints the lines in the order given."""
    given = [str(AUDIO / name) for name in ("call_me.wav", "corrupt.wav", "happy.wav")]
    code, printed = transcribe(app, "--batch", *given)
    assert code == 1
    assert [line["file"] for line in printed] == given
    assert printed[1]["text"] is None and printed[1]["error"]
