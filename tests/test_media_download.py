"""The worker's download of recording media: retries, failures, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.models import RecordingStatus
from simulator.audio import tone_wav
from simulator.caller import CallerSimulator
from simulator.fake_state import FakeTwilio
from tests.conftest import Worker
from tests.factories import leave_comment, reload_recording

COMMENT = tone_wav(1.0)


def test_transient_server_error_is_retried_then_downloaded(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
) -> None:
    """One 500 from Twilio's media server is retried and the file arrives intact."""
    rec = leave_comment(simulator, survey_url, status_url, COMMENT)
    fake_twilio.fail_media(rec.recording_sid, [500])
    worker.run()
    rec = reload_recording(rec)
    assert rec.local_path is not None and Path(rec.local_path).read_bytes() == COMMENT


@pytest.mark.parametrize(
    "codes", [[500, 500, 500], [404, 404, 404], [401]], ids=["500", "404", "401"]
)
def test_persistent_media_errors_end_in_a_readable_failure(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
    codes: list[int],
) -> None:
    """After bounded retries (none for 401) the recording is failed with the HTTP status."""
    rec = leave_comment(simulator, survey_url, status_url, COMMENT)
    fake_twilio.fail_media(rec.recording_sid, codes)
    worker.run()
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.FAILED
    assert f"HTTP {codes[0]}" in (rec.failure_reason or "")
    assert rec.local_path is None
    assert (
        fake_twilio.next_media_failure(rec.recording_sid) is None
    )  # every planned failure was hit


def test_oversized_media_is_refused(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A recording over the size limit fails with a reason instead of filling the disk."""
    monkeypatch.setitem(app.config, "RECORDING_MAX_BYTES", 1000)
    rec = leave_comment(simulator, survey_url, status_url, COMMENT)
    worker.run()
    rec = reload_recording(rec)
    assert rec.status is RecordingStatus.FAILED
    assert "larger than" in (rec.failure_reason or "")


def test_twilio_copy_deleted_after_download_when_configured(
    app: Flask,
    simulator: CallerSimulator,
    survey_url: str,
    status_url: str,
    worker: Worker,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    client: Any,
) -> None:
    """With DELETE_TWILIO_RECORDING_AFTER_DOWNLOAD the fake Twilio no longer has the media."""
    monkeypatch.setitem(app.config, "DELETE_TWILIO_RECORDING_AFTER_DOWNLOAD", True)
    rec = leave_comment(simulator, survey_url, status_url, COMMENT)
    worker.run()
    rec = reload_recording(rec)
    assert rec.recording_sid in fake_twilio.deleted_recordings
    assert rec.twilio_deleted_at is not None
    assert rec.local_path is not None and Path(rec.local_path).exists()
