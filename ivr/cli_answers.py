"""``flask answers parse``: what the survey makes of spoken replies, one per line.

For trying phrasing and for acceptance checks: each line on standard input is read as a
spoken reply to a question of the given kind, exactly as the survey reads it, and one JSON
object per line is printed: ``{"speech": ..., "value": 8 or null, "intent": "human" |
"opt_out" | null}``. A null value and a null intent mean the survey asks again. A line the
survey would never read (longer than Twilio's ``SpeechResult`` it accepts) or that the reader
fails on also gets ``"error"``; the other lines are still read, and the exit status is 1.
"""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from core.models import QuestionKind
from core.stdin_lines import stdin_lines
from core.twilio_params import MAX_SPEECH
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
    failed = False
    for speech in stdin_lines():
        record = read_line(question, speech)
        failed = failed or "error" in record
        click.echo(json.dumps(record, ensure_ascii=False))
    if failed:
        sys.exit(1)


def read_line(question: QuestionKind, speech: str) -> dict[str, object]:
    """One reply as the survey reads it, or why the survey would not get an answer from it."""
    record: dict[str, object] = {"speech": speech, "value": None, "intent": None}
    if len(speech) > MAX_SPEECH:
        # The webhook refuses a longer SpeechResult, so the survey never reads one; the
        # reader's time also grows faster than the text (minutes for a long line).
        record["error"] = f"longer than {MAX_SPEECH} characters: the survey never reads it"
        return record
    try:
        reading = read_speech(question, speech)
    except Exception as exc:  # one bad line must not hide the answers to the others
        record["error"] = f"the reader failed: {type(exc).__name__}: {exc}"
        return record
    record["value"] = reading.value
    record["intent"] = None if reading.intent is None else reading.intent.value
    return record
