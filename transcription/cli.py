"""``flask transcription ...`` commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from transcription.engines import EngineSettings, resolve_checkpoint_path, resolve_model_path

cli = AppGroup("transcription", help="Manage the speech-to-text models.")


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
