"""``flask transcription ...`` commands."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np
from flask import current_app
from flask.cli import AppGroup

from transcription.audio import AudioError, decode_to_pcm16k
from transcription.engines import (
    SAMPLE_RATE,
    EngineSettings,
    get_engine,
    resolve_checkpoint_path,
    resolve_model_path,
    warm_up,
)
from transcription.vocabulary import for_survey

cli = AppGroup("transcription", help="Manage the speech-to-text models and transcribe files.")


@cli.command("transcribe")
# Plain paths, not click.Path(exists=True): a missing file or a directory is one failed line,
# not a usage error that transcribes none of the others.
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--vocabulary",
    default=None,
    help="Terms to listen for (default: WHISPER_VOCABULARY, as for a survey listing none).",
)
@click.option(
    "--batch",
    is_flag=True,
    help="Decode all files together, as a worker does with the recordings it finds queued.",
)
def transcribe(files: tuple[str, ...], vocabulary: str | None, batch: bool) -> None:
    """Transcribe audio files exactly as the worker does, one JSON object per file.

    Each line is {"file", "text", "seconds", "duration"}, in the order the files were given:
    seconds is the time taken to read and transcribe the file (the model is loaded and warmed
    up first), duration the audio's length in seconds. With --batch, seconds is an equal
    share of the batch's time. A file that cannot be read (missing, a directory, not audio)
    gets "text": null and an "error"; the others are transcribed, and the exit status is 1.
    """
    cfg = current_app.config
    engine = get_engine(EngineSettings.from_config(cfg))
    warm_up(engine)  # as a worker's preload: the first file's time is then its own
    terms = vocabulary if vocabulary is not None else for_survey(None, cfg["WHISPER_VOCABULARY"])
    failed = False
    for group in [list(files)] if batch else [[name] for name in files]:
        started = time.perf_counter()
        audios: dict[int, np.ndarray] = {}  # by position in the group: a name may come twice
        errors: dict[int, tuple[str, float]] = {}
        for k, name in enumerate(group):
            try:
                audios[k] = _decode(name)
            except AudioError as exc:
                errors[k] = exc.reason, time.perf_counter() - started
        transcripts = engine.transcribe_many(list(audios.values()), [terms] * len(audios))
        share = (time.perf_counter() - started) / max(1, len(audios))
        texts = dict(zip(audios, (t.text for t in transcripts), strict=True))
        for k, name in enumerate(group):  # in the order given, failed files in their place
            if k in errors:
                failed = True
                _echo(name, None, errors[k][1], None, error=errors[k][0])
            else:
                _echo(name, texts[k], share, audios[k].size / SAMPLE_RATE)
    if failed:
        raise SystemExit(1)


def _decode(name: str) -> np.ndarray:
    """The file's audio as the worker decodes it; AudioError when it cannot be read."""
    cfg = current_app.config
    try:
        return decode_to_pcm16k(
            Path(name),
            max_seconds=cfg["RECORDING_MAX_SECONDS"],
            max_bytes=cfg["RECORDING_MAX_BYTES"],
        )
    except OSError as exc:  # found but unreadable (permissions, a device)
        raise AudioError(f"recording file {name} cannot be read: {exc.strerror or exc}") from exc


def _echo(
    name: str, text: str | None, seconds: float, duration: float | None, error: str = ""
) -> None:
    line: dict[str, object] = {
        "file": name,
        "text": text,
        "seconds": round(seconds, 3),
        "duration": None if duration is None else round(duration, 3),
    }
    if error:
        line["error"] = error
    click.echo(json.dumps(line))


@cli.command("convert-model")
@click.option(
    "--source",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="CTranslate2 model folder (default: WHISPER_MODEL_PATH or the bundled tiny.en).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Checkpoint to write (default: WHISPER_CHECKPOINT or the cache the engine reads).",
)
def convert_model(source: str | None, output: str | None) -> None:
    """Convert the CTranslate2 model into an openai-whisper checkpoint."""
    from transcription.convert import ConversionError, convert_ct2_to_openai

    settings = EngineSettings.from_config(current_app.config)
    source_dir = source or str(resolve_model_path(settings))
    target = output or str(resolve_checkpoint_path(settings))
    try:
        written = convert_ct2_to_openai(source_dir, target)
    except ConversionError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote openai-whisper checkpoint {written} (from {source_dir})")
