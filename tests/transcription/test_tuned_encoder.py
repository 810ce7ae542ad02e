"""The reader's fine-tuned top layers (reader 2.5): stored small, loaded offline on top of the
packaged MiniLM, and giving the vectors training gave (``scripts/tune_encoder.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.sources import load_source
from transcription.comment_model import (
    MODEL_PATH,
    TUNED_PATH,
    CommentModel,
    embed,
    encoded_texts,
    get_model,
)
from transcription.embeddings import TunedLayers, get_embedder, load_tuned_layers

TEXTS = [
    "the doctor's going to phone me tomorrow about the results",
    "please don't send me any more of these surveys",
    "um so i rang about the bill and it went on for ages and the lady was nice enough but"
    " honestly i'm still scared they'll cut us off so can someone ring me back",
    "call me",
    "",
]


@pytest.fixture(scope="module")
def tune_encoder() -> ModuleType:
    """scripts/tune_encoder.py (a script, not a package) loaded as a module, with the
    scripts it imports (padded_encoder, embed_cache) found as the script finds them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "scripts"))
        return load_source("scripts/tune_encoder.py")


def test_the_committed_model_names_its_tuned_layers() -> None:
    """comment_model.json names the tuned file by digest, and the file is small float16."""
    named = json.loads(MODEL_PATH.read_text())["tuned_layers"]
    assert named["file"] == TUNED_PATH.name
    assert TUNED_PATH.stat().st_size <= 20 * 1024 * 1024
    tuned = get_model().tuned
    assert tuned is not None and tuned.digest == named["sha256"]
    assert tuned.start + len(tuned.layers) == len(get_embedder().layers)


def test_a_model_refuses_tuned_layers_it_was_not_trained_on(
    tune_encoder: ModuleType, tmp_path: Path
) -> None:
    """Other layers under the tuned file's name are an error, not a silent misread."""
    data = json.loads(MODEL_PATH.read_text())
    embedder = get_embedder()
    start = data["tuned_layers"]["start"]
    tune_encoder.save(embedder.layers[start:], start, tmp_path / TUNED_PATH.name)
    with pytest.raises(ValueError, match="not the encoder"):
        CommentModel.from_json(data, tmp_path)


def test_tuned_layers_load_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged model and the tuned layers load with the Hub switched off."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tuned = load_tuned_layers(TUNED_PATH)
    means, _ = get_embedder().encode_pooled(["call me back please"], tuned=tuned)
    assert np.isclose(np.linalg.norm(means[0]), 1.0, atol=1e-5)


def test_packaged_layers_saved_and_loaded_encode_as_the_packaged_model(
    tune_encoder: ModuleType, tmp_path: Path
) -> None:
    """Saving layers (float16) and reading them back runs the same encoder, to fp16 rounding."""
    embedder = get_embedder()
    start = len(embedder.layers) - tune_encoder.TUNED_LAYERS
    tuned = tune_encoder.save(embedder.layers[start:], start, tmp_path / "layers.safetensors")
    plain, plain_max = embedder.encode_pooled(TEXTS)
    again, again_max = embedder.encode_pooled(TEXTS, tuned=tuned)
    assert np.abs(plain - again).max() < 2e-3
    assert np.abs(plain_max - again_max).max() < 2e-2


def test_training_features_are_the_readers(tune_encoder: ModuleType) -> None:
    """What training computes from cached lower states (float16) is what the reader computes
    from the text, for the comment and for each of its units."""
    embedder = get_embedder()
    tuned = get_model().tuned
    assert isinstance(tuned, TunedLayers)
    pieces = encoded_texts(TEXTS)
    lower = tune_encoder.lower_states(embedder, pieces, tuned.start)
    rounded = [s.astype(np.float16).astype(np.float32) for s in lower]
    states = dict(zip(pieces, rounded, strict=True))
    trained = embed(TEXTS, tune_encoder.CachedEncoder(embedder, states, tuned))
    read = embed(TEXTS, embedder, tuned)
    for a, b in zip(trained, read, strict=True):
        assert a.units == b.units
        assert np.abs(a.mean - b.mean).max() < 2e-3
        assert np.abs(a.unit_means - b.unit_means).max() < 2e-3
        assert np.abs(a.token_max - b.token_max).max() < 2e-2


def test_tuning_is_deterministic(tune_encoder: ModuleType) -> None:
    """The same comments and labels tune the same weights, bit for bit."""
    embedder = get_embedder()
    start = len(embedder.layers) - tune_encoder.TUNED_LAYERS
    states = tune_encoder.lower_states(embedder, TEXTS * 4, start)
    y = np.tile(np.eye(5, 4), (4, 1))
    first, second = (tune_encoder.tune(embedder, states, y) for _ in range(2))
    for a, b in zip(first, second, strict=True):
        pairs = zip(a.__dict__.values(), b.__dict__.values(), strict=True)
        assert all(np.array_equal(x, z) for x, z in pairs)
