"""``flask comments reanalyse``: stored transcripts re-read by the current reader; callback
rules re-run only inside the callback window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from callbacks.models import CallbackTask
from callbacks.sweep import CALLBACK_WINDOW
from core.db import db, utcnow
from core.models import Contact, Recording
from tests.callbacks.conftest import add_comment, make_session
from transcription.analysis import ANALYSER_VERSION, RULES_VERSION, rules_only

MISSED_DISTRESS = "i can't cope with this anymore"  # the 1.2 word list reads nothing here
MISSED_OPT_OUT = "please don't send me any more of these surveys"


def _read_by_old_reader(text: str, *, age: timedelta) -> Recording:
    """A call ``age`` ago whose comment was read by the 1.2 word list, as stored back then."""
    session = make_session(ended_at=utcnow() - age)
    rec = add_comment(session, text)
    rec.analysis = rules_only(text).to_dict()
    db.session.commit()
    assert rec.analysis["analyser_version"] == RULES_VERSION
    return rec


def _reanalyse(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["comments", "reanalyse", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _tasks() -> list[CallbackTask]:
    return list(db.session.scalars(db.select(CallbackTask)))


def _reload(rec: Recording) -> Recording:
    db.session.expire_all()
    fresh = db.session.get(Recording, rec.id)
    assert fresh is not None and fresh.analysis is not None
    return fresh


@pytest.mark.usefixtures("any_time")
def test_recent_call_is_reread_and_its_callback_rules_run_again(app: Flask) -> None:
    """A call from this morning: new flags and highlights, and the urgent task it deserves."""
    rec = _read_by_old_reader(MISSED_DISTRESS, age=timedelta(hours=3))
    assert _tasks() == []
    out = _reanalyse(app)
    fresh = _reload(rec)
    assert fresh.analysis["analyser_version"] == ANALYSER_VERSION
    assert fresh.analysis["labels"]["distress"]["flagged"]
    assert fresh.analysis["labels"]["distress"]["phrases"] == ["can't cope"]
    assert fresh.transcript == MISSED_DISTRESS and fresh.transcript_engine == "test"
    (task,) = _tasks()
    assert "distress" in task.reason_codes
    assert "re-read 1 transcript(s)" in out


@pytest.mark.usefixtures("any_time")
def test_old_call_gets_new_flags_but_never_a_task(app: Flask) -> None:
    """A call older than the callback window is re-read, and no callback task is opened."""
    rec = _read_by_old_reader(MISSED_DISTRESS, age=CALLBACK_WINDOW + timedelta(hours=2))
    _reanalyse(app)
    assert _reload(rec).analysis["labels"]["distress"]["flagged"]
    assert _tasks() == []


def test_spoken_opt_out_in_an_old_comment_opts_the_contact_out(app: Flask) -> None:
    """Like the recording job: an opt-out the old reader missed opts the caller out now."""
    rec = _read_by_old_reader(MISSED_OPT_OUT, age=timedelta(days=30))
    _reanalyse(app)
    contact = db.session.get(Contact, _reload(rec).session.contact_id)
    assert contact is not None and contact.opted_out_at is not None
    assert _tasks() == []


def test_transcripts_read_by_this_version_are_left_alone(app: Flask) -> None:
    """Running it twice re-reads nothing the second time; --all re-reads everything."""
    _read_by_old_reader("the agent was lovely", age=timedelta(days=3))
    assert "re-read 1 transcript(s)" in _reanalyse(app)
    assert "re-read 0 transcript(s)" in _reanalyse(app)
    assert "re-read 1 transcript(s)" in _reanalyse(app, "--all")
