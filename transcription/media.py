"""Downloading recording media from Twilio (basic auth, timeouts, bounded retries)."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import requests

log = logging.getLogger(__name__)

RETRYABLE = {404, 408, 429, 500, 502, 503, 504}  # 404: media can lag the callback briefly


class MediaError(Exception):
    """The media could not be fetched; ``reason`` is shown to managers."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def _fetch_once(url: str, auth: tuple[str, str], dest: Path, max_bytes: int, timeout: float) -> int:
    try:
        response = requests.get(url, auth=auth, timeout=(5, timeout), stream=True)
    except requests.RequestException as exc:
        raise MediaError(
            f"could not reach Twilio for the recording: {type(exc).__name__}", retryable=True
        ) from exc
    with response:
        if response.status_code != 200:
            raise MediaError(
                f"Twilio answered HTTP {response.status_code} for the recording media",
                retryable=response.status_code in RETRYABLE,
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaError(
                            f"recording is larger than the {max_bytes // 1_000_000} MB limit",
                            retryable=False,
                        )
                    out.write(chunk)
            if size == 0:
                raise MediaError("Twilio returned an empty recording", retryable=True)
            os.replace(tmp_name, dest)  # atomic: a reader never sees half a file
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    return size


def download(
    url: str,
    auth: tuple[str, str],
    dest: Path,
    *,
    max_bytes: int,
    retry_delays: Sequence[float] = (1.0, 3.0),
    timeout: float = 30.0,
) -> int:
    """Fetch ``url`` into ``dest``; retries transient failures, then raises MediaError."""
    delays = list(retry_delays)
    while True:
        try:
            return _fetch_once(url, auth, dest, max_bytes, timeout)
        except MediaError as exc:
            if not exc.retryable or not delays:
                raise
            delay = delays.pop(0)
            log.warning("%s; retrying in %.1fs", exc.reason, delay)
            time.sleep(delay)
