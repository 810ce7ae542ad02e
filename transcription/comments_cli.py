"""``flask comments read``: read comments from standard input with the current reader.

One comment per line in, one JSON object per line out (a fixed interface: acceptance
checks and scripts use it)::

    {"text": "...", "labels": ["distress", ...], "phrases": {"distress": ["..."], ...}}

``labels`` are the flagged labels in ``LABELS`` order and ``phrases`` the words that
explain each of them. Bytes that are not UTF-8 are read as U+FFFD and control characters as
spaces, as the worker reads a transcript (``analysis.readable``). A line longer than
``MAX_COMMENT`` (6,000 characters, more than a survey records) or one the reader fails on
gets ``"error"`` and no labels; the other lines are still read, and the exit status is 1.
``flask comments reanalyse`` (re-reading stored transcripts) joins this group from ``ivr``,
because it needs the callback rules.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import AppGroup

from core.stdin_lines import stdin_lines
from transcription.analysis import MAX_COMMENT, CommentAnalysis, analyse_comment

cli = AppGroup("comments", help="Read survey comments for distress, complaints and requests.")


def as_line(analysis: CommentAnalysis) -> dict[str, Any]:
    """The one-line JSON form of a reading."""
    flagged = analysis.flagged()
    return {
        "text": analysis.text,
        "labels": flagged,
        "phrases": {name: list(analysis.labels[name].phrases) for name in flagged},
    }


@cli.command("read")
def read_command() -> None:
    """Read one comment per line on stdin; print one JSON object per line."""
    failed = False
    for text in stdin_lines():
        record = read_line(text)
        failed = failed or "error" in record
        click.echo(json.dumps(record))
    if failed:
        sys.exit(1)


def read_line(text: str) -> dict[str, Any]:
    """One comment as the worker reads it, or why it was not read (with no labels)."""
    unread: dict[str, Any] = {"text": text, "labels": [], "phrases": {}}
    if len(text) > MAX_COMMENT:
        return unread | {"error": f"longer than {MAX_COMMENT} characters: not read"}
    try:
        return as_line(analyse_comment(text))
    except Exception as exc:  # one bad line must not hide the readings of the others
        return unread | {"error": f"the reader failed: {type(exc).__name__}: {exc}"}
