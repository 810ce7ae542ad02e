"""``flask answers parse``: what the survey makes of spoken replies, one per line.

For trying phrasing and for acceptance checks: each line on standard input is read as a
spoken reply to a question of the given kind, exactly as the survey reads it, and one JSON
object per line is printed: ``{"speech": ..., "value": 8 or null, "intent": "human" |
"opt_out" | null}``. A null value and a null intent mean the survey asks again.
"""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from core.models import QuestionKind
from replies.answers import read_speech

answers = AppGroup("answers", help="Read spoken survey replies as the survey does.")


@answers.command("parse")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in QuestionKind]),
    required=True,
    help="The question the replies answer: nps (0-10), csat (1-5) or yes_no (1 yes, 0 no).",
)
def parse_command(kind: str) -> None:
    """Read one spoken reply per line from stdin; print one JSON object per line."""
    question = QuestionKind(kind)
    for line in sys.stdin:
        speech = line.rstrip("\r\n")
        reading = read_speech(question, speech)
        record = {
            "speech": speech,
            "value": reading.value,
            "intent": None if reading.intent is None else reading.intent.value,
        }
        click.echo(json.dumps(record, ensure_ascii=False))
