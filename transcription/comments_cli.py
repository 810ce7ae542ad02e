"""``flask comments read``: read comments from standard input with the current reader.

One comment per line in, one JSON object per line out (a fixed interface: acceptance
checks and scripts use it)::

    {"text": "...", "labels": ["distress", ...], "phrases": {"distress": ["..."], ...}}

``labels`` are the flagged labels in ``LABELS`` order and ``phrases`` the words that
explain each of them. ``flask comments reanalyse`` (re-reading stored transcripts) joins
this group from ``ivr``, because it needs the callback rules.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import AppGroup

from transcription.analysis import CommentAnalysis, analyse_comment

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
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        click.echo(json.dumps(as_line(analyse_comment(text))))
