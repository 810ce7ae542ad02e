"""RQ jobs. Each takes ids, opens its own app context, and is safe to run twice."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

from ivr import contacts
from ivr.db import db, utcnow
from ivr.media import MediaError, download
from ivr.models import Recording, RecordingStatus
from workers.context import job_context

log = logging.getLogger(__name__)


def process_recording(recording_id: int) -> str:
    """Download, transcribe and read a comment, then hand the call to the callback rules.

    Each stage commits its result and the status says which stages are done, so a job
    that runs again (retry, worker killed mid-way, duplicate enqueue) only does what is
    left, and every stage's effect happens once.
    """
    with job_context():
        rec = db.session.get(Recording, recording_id)
        if rec is None:
            log.warning("recording %s no longer exists", recording_id)
            return "missing"
        if rec.status is RecordingStatus.PENDING:
            fetch_media(rec)
        if rec.status is RecordingStatus.DOWNLOADED:
            transcribe(rec)
        if rec.status is RecordingStatus.TRANSCRIBED:
            analyse(rec)
            evaluate_callbacks(rec.session_id)
        return rec.status.value


def fetch_media(rec: Recording) -> None:
    cfg = current_app.config
    if not rec.media_url:
        fail(rec, "Twilio never told us where the recording is")
        return
    dest = Path(cfg["RECORDINGS_DIR"]) / f"{rec.recording_sid}.wav"
    rec.download_attempts += 1
    db.session.commit()
    try:
        size = download(
            rec.media_url,
            (cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"]),
            dest,
            max_bytes=cfg["RECORDING_MAX_BYTES"],
            retry_delays=cfg.get("MEDIA_RETRY_DELAYS", (1.0, 3.0)),
        )
    except MediaError as exc:
        fail(rec, exc.reason)
        return
    rec.local_path = str(dest)
    rec.size_bytes = size
    rec.status = RecordingStatus.DOWNLOADED
    db.session.commit()
    if cfg["DELETE_TWILIO_RECORDING_AFTER_DOWNLOAD"]:
        delete_twilio_copy(rec)


def transcribe(rec: Recording) -> None:
    from transcription.audio import AudioError, decode_to_pcm16k
    from transcription.engines import EngineSettings, get_engine

    cfg = current_app.config
    try:
        audio = decode_to_pcm16k(
            rec.local_path or "",
            max_seconds=cfg["RECORDING_MAX_SECONDS"],
            max_bytes=cfg["RECORDING_MAX_BYTES"],
        )
    except AudioError as exc:
        fail(rec, exc.reason)
        return
    engine = get_engine(EngineSettings.from_config(cfg))  # loaded once per worker process
    transcript = engine.transcribe(audio)
    rec.transcript = transcript.text
    rec.transcript_engine = transcript.engine
    rec.status = RecordingStatus.TRANSCRIBED
    db.session.commit()


def analyse(rec: Recording) -> None:
    from transcription.analysis import analyse_comment

    result = analyse_comment(rec.transcript or "")
    rec.analysis = result.to_dict()
    rec.status = RecordingStatus.ANALYSED
    if "opt_out" in result.flagged():
        # "Stop calling me" in a comment counts as much as pressing 9.
        contacts.opt_out(rec.session.contact, source="comment", session=rec.session)
    db.session.commit()


def evaluate_callbacks(session_id: int) -> None:
    """Seconds after the transcript exists: let the rules open or upgrade a callback task."""
    try:
        from callbacks.service import evaluate_session
    except ImportError:  # callbacks not installed in this build
        return
    evaluate_session(session_id)


def delete_twilio_copy(rec: Recording) -> None:
    from ivr.outbound import twilio_client

    try:
        twilio_client().recordings(rec.recording_sid).delete()
    except Exception:  # keeping our copy matters more than deleting theirs; retried by retention
        log.exception("could not delete Twilio's copy of %s", rec.recording_sid)
        return
    rec.twilio_deleted_at = utcnow()
    db.session.commit()


def fail(rec: Recording, reason: str) -> None:
    log.error("recording %s failed: %s", rec.recording_sid, reason)
    rec.status = RecordingStatus.FAILED
    rec.failure_reason = reason
    db.session.commit()


def sweep_recordings() -> int:
    """Periodic: enqueue ready recordings with no live job."""
    from ivr import recordings

    with job_context():
        return recordings.sweep()
