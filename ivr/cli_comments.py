"""``flask comments reanalyse``: re-read stored transcripts with the current reader.

No audio is transcribed again: each analysed recording whose reading came from another
reader version gets read again, exactly as the recording job reads it
(``transcription.pipeline.analyse``: new flags and highlights, and a spoken opt-out opts
the contact out, however old the call). The callback rules then run again only for calls
inside the window the callback sweep uses (``callbacks.sweep.CALLBACK_WINDOW``): a better
reading of last month's comment corrects the record, it never opens a task today.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import or_

from callbacks import evaluation
from callbacks.sweep import CALLBACK_WINDOW
from core.db import db, utcnow
from core.models import CallSession, Recording, RecordingStatus
from transcription import pipeline
from transcription.analysis import ANALYSER_VERSION


def stale_recordings(everything: bool) -> list[int]:
    """Ids of analysed recordings with a transcript, read by another version unless all."""
    query = (
        db.select(Recording.id)
        .where(Recording.status == RecordingStatus.ANALYSED)
        .where(Recording.transcript.is_not(None))
        .order_by(Recording.id)
    )
    if not everything:
        version = Recording.analysis["analyser_version"].as_string()
        query = query.where(
            or_(Recording.analysis.is_(None), version.is_(None), version != ANALYSER_VERSION)
        )
    return list(db.session.scalars(query))


@click.command("reanalyse")
@click.option(
    "--all", "everything", is_flag=True, help="Re-read every transcript, even current ones."
)
def reanalyse_command(everything: bool) -> None:
    """Re-read stored transcripts with the current reader (no re-transcription)."""
    cutoff = utcnow() - CALLBACK_WINDOW
    read = changed = 0
    recent: set[int] = set()
    for recording_id in stale_recordings(everything):
        rec = db.session.get(Recording, recording_id)
        if rec is None:
            continue
        before = _flags(rec.analysis)
        pipeline.analyse(rec)  # commits
        read += 1
        changed += _flags(rec.analysis) != before
        session = db.session.get(CallSession, rec.session_id)
        if session is not None and session.created_at >= cutoff:
            recent.add(session.id)
    for session_id in sorted(recent):
        evaluation.evaluate_session(session_id)
    click.echo(
        f"re-read {read} transcript(s) with reader {ANALYSER_VERSION}: {changed} with "
        f"changed flags; callback rules run again for {len(recent)} call(s) newer than "
        f"{CALLBACK_WINDOW}"
    )


def _flags(analysis: dict[str, Any] | None) -> list[str]:
    labels = (analysis or {}).get("labels") or {}
    return sorted(name for name, raw in labels.items() if raw.get("flagged"))
